import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConformanceServer } from "../../examples/conformance/app.js";
import { IN_SCOPE_SCENARIOS, SPEC_VERSION } from "./scenarios.js";
import { conformance, describeChecks, listServerScenarios, node22, readResults, type Check, type ProcessResult } from "./suite.js";

/**
 * Runs the official MCP conformance suite (server scenarios, spec 2025-11-25) once against the
 * example server in examples/conformance, served from the sources in this process, then checks
 * every scenario's checks.json: no FAILURE and no WARNING.
 */
describe(`MCP conformance: server scenarios for ${SPEC_VERSION}`, () => {
  const { mcp } = createConformanceServer();
  let node: string;
  let outputDir: string | undefined;
  let run: ProcessResult;
  let results: Map<string, Check[]>;

  beforeAll(async () => {
    node = await node22();
    const server = await mcp.run({ transport: "http", host: "127.0.0.1", port: 0, path: "/mcp", banner: false, handleSignals: false });
    outputDir = await mkdtemp(join(tmpdir(), "fastmcp-conformance-"));
    // --suite all: the default "active" suite leaves out the pending scenarios (json-schema-2020-12,
    // server-sse-polling); --spec-version then keeps exactly the 2025-11-25 ones.
    const args = ["server", "--url", server.url!, "--suite", "all", "--spec-version", SPEC_VERSION, "--output-dir", outputDir];
    run = await conformance(node, args, 170_000);
    results = await readResults(outputDir);
  }, 360_000);

  afterAll(async () => {
    await mcp.close();
    if (outputDir) await rm(outputDir, { recursive: true, force: true });
  });

  it("runs every server scenario the suite has for the spec version", async () => {
    expect((await listServerScenarios(node, SPEC_VERSION)).sort()).toEqual([...IN_SCOPE_SCENARIOS].sort());
    expect([...results.keys()].sort()).toEqual([...IN_SCOPE_SCENARIOS].sort());
  });

  it("the suite exits 0", () => {
    expect(run.code, `${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`).toBe(0);
  });

  it.each(IN_SCOPE_SCENARIOS)("%s: no failure, no warning", (scenario) => {
    const checks = results.get(scenario) ?? [];
    expect(checks.filter((check) => check.status === "SUCCESS").length, `${scenario} reported no successful check`).toBeGreaterThan(0);
    expect(describeChecks(checks, "FAILURE")).toEqual([]);
    expect(describeChecks(checks, "WARNING")).toEqual([]);
  });
});
