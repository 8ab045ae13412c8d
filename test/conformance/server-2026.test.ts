import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConformanceServer } from "../../examples/conformance/app.js";
import { conformance, describeChecks, listServerScenarios, node22, readResults, type Check } from "./suite.js";

const SPEC_VERSION = "2026-07-28";

/**
 * What does not pass yet for 2026-07-28, check by check (docs/compliance.md says why): the
 * diagnostic fixture tools server-stateless asks for, `x-mcp-header` parameters (SEP-2243) and
 * InputRequiredResult (SEP-2322). Every other check of every scenario must pass, and these must
 * fail exactly so: a check that starts to pass, or another that starts to fail, fails this test.
 */
const KNOWN_FAILURES: Readonly<Record<string, readonly string[]>> = {
  "server-stateless": ["sep-2575-server-rejects-undeclared-capability", "sep-2575-missing-capability-http-400", "sep-2575-http-server-no-independent-requests-on-stream", "sep-2575-server-no-log-without-loglevel"],
  "http-custom-header-server-validation": ["sep-2243-server-no-xmcp-tool", "sep-2243-server-decode-base64", "sep-2243-server-validate-param-match", "sep-2243-server-reject-invalid-param-chars", "sep-2243-server-reject-param-mismatch"],
  "input-required-result-basic-elicitation": ["sep-2322-elicitation-incomplete"],
  "input-required-result-basic-list-roots": ["sep-2322-list-roots-incomplete"],
  "input-required-result-basic-sampling": ["sep-2322-sampling-incomplete"],
  "input-required-result-capability-check": ["sep-2322-respect-client-capabilities"],
  "input-required-result-multi-round": ["sep-2322-multi-round-r1"],
  "input-required-result-multiple-input-requests": ["sep-2322-multiple-inputs-incomplete"],
  "input-required-result-non-tool-request": ["sep-2322-non-tool-incomplete"],
  "input-required-result-request-state": ["sep-2322-request-state-incomplete"],
  "input-required-result-result-type": ["sep-2322-result-type-included"],
  "input-required-result-tampered-state": ["sep-2322-reject-tampered-state"],
};

/**
 * The official conformance suite's server scenarios for 2026-07-28 against examples/conformance,
 * as a regression guard while the era is completed: the passing ones keep passing (two checks of
 * server-stateless had regressed unnoticed before this test), the known failures are pinned.
 */
describe(`MCP conformance: server scenarios for ${SPEC_VERSION}`, () => {
  const { mcp } = createConformanceServer();
  let node: string;
  let outputDir: string | undefined;
  let scenarios: string[];
  let results: Map<string, Check[]>;

  beforeAll(async () => {
    node = await node22();
    const server = await mcp.run({ transport: "http", host: "127.0.0.1", port: 0, path: "/mcp", banner: false, handleSignals: false });
    outputDir = await mkdtemp(join(tmpdir(), "fastmcp-conformance-2026-"));
    scenarios = await listServerScenarios(node, SPEC_VERSION);
    await conformance(node, ["server", "--url", server.url!, "--suite", "all", "--spec-version", SPEC_VERSION, "--output-dir", outputDir], 170_000);
    results = await readResults(outputDir);
  }, 360_000);

  afterAll(async () => {
    await mcp.close();
    if (outputDir) await rm(outputDir, { recursive: true, force: true });
  });

  it("runs every server scenario the suite lists for the spec version", () => {
    expect(scenarios.length).toBeGreaterThan(30);
    expect([...results.keys()].sort()).toEqual([...scenarios].sort());
  });

  it("fails no check but the known failures, and each of those still fails", () => {
    const failures = Object.fromEntries(
      [...results].map(([scenario, checks]) => [scenario, checks.filter((check) => check.status === "FAILURE").map((check) => check.id)] as const).filter(([, ids]) => ids.length > 0),
    );
    expect(failures).toEqual(KNOWN_FAILURES);
  });

  it("passes at least one check in every scenario", () => {
    for (const [scenario, checks] of results) {
      expect(checks.filter((check) => check.status === "SUCCESS").length, `${scenario}: ${describeChecks(checks, "FAILURE").join("; ")}`).toBeGreaterThan(0);
    }
  });
});
