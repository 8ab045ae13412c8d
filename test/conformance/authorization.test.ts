/**
 * The official conformance suite's `authorization` leg (an authorization server under test)
 * against examples/todo's LocalOAuthProvider, run by the CLI as users run it. The suite's
 * `authorization-code-grant` scenario prints an authorization URL and waits for a browser to
 * bring the code to its callback server on http://127.0.0.1:<port>/callback; here the scripted
 * user agent reads that URL from the suite's stdout as it streams, logs in, approves, and loads
 * the callback, so the leg runs unattended.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerClient } from "../helpers/oauth-flow.js";
import { freePort, startTodoServer, type ServerProcess } from "../helpers/todo-server.js";
import { UserAgent, type AuthorizationOutcome } from "../helpers/user-agent.js";
import { conformance, describeChecks, node22, type Check, type ProcessResult } from "./suite.js";

const CONFORMANCE_CLI = fileURLToPath(new URL("../../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url));

/** The leg's scenarios (`conformance list --authorization`), in the order the suite runs them. */
const SCENARIOS = ["authorization-server-metadata-endpoint", "authorization-code-grant"] as const;

/** `authorization-server-<scenario>-<ISO timestamp with : and . replaced by ->`, as the CLI names this leg's result folders. */
const RESULT_DIR = /^authorization-server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

async function readAuthorizationResults(outputDir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for (const entry of await readdir(outputDir, { withFileTypes: true })) {
    const scenario = entry.isDirectory() ? RESULT_DIR.exec(entry.name)?.[1] : undefined;
    if (scenario === undefined) continue;
    if (results.has(scenario)) throw new Error(`scenario ${scenario} has two result folders in ${outputDir}`);
    results.set(scenario, JSON.parse(await readFile(join(outputDir, entry.name, "checks.json"), "utf8")) as Check[]);
  }
  return results;
}

/**
 * Runs `conformance authorization <args>` under Node 22; when the code-grant scenario prints its
 * authorization URL, hands it to `browse` (the suite waits for its callback meanwhile).
 */
function runAuthorizationLeg(node: string, args: string[], issuer: string, browse: (url: string) => Promise<AuthorizationOutcome>): Promise<ProcessResult & { browsed: Promise<AuthorizationOutcome> | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [CONFORMANCE_CLI, "authorization", ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 150_000, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    let browsed: Promise<AuthorizationOutcome> | undefined;
    const urlLine = new RegExp(`^${issuer.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/authorize\\?\\S+$`, "m");
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const url = urlLine.exec(stdout)?.[0];
      // The URL is printed before the callback server listens: wait for both.
      if (url && /^Callback server started: /m.test(stdout) && !browsed) {
        browsed = browse(url);
        // A failure is reported by the assertions; the suite then times out on its own callback wait.
        browsed.catch(() => child.kill("SIGKILL"));
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, browsed }));
  });
}

interface Leg {
  run: ProcessResult;
  outcome: AuthorizationOutcome | undefined;
  browseError: unknown;
  results: Map<string, Check[]>;
  callback: string;
}

/**
 * One run of the leg against `server`: a client registered for a fresh callback port, the user
 * agent pressing `decision` on the consent page.
 */
async function runLeg(node: string, server: ServerProcess, decision: "approve" | "deny"): Promise<Leg> {
  const outputDir = await mkdtemp(join(tmpdir(), "fastmcp-conformance-as-out-"));
  try {
    // The suite's client: public (PKCE only), registered beforehand with the suite's callback.
    const port = await freePort();
    const callback = `http://127.0.0.1:${port}/callback`;
    const { client_id: clientId } = await registerClient(server.baseUrl, { client_name: "MCP conformance suite", redirect_uris: [callback], grant_types: ["authorization_code"] });
    const agent = new UserAgent({ login: "alice", password: "wonderland", decision, deliver: true });
    // No --scenario: the code grant reads the endpoints from the metadata scenario's result.
    const args = ["--url", server.baseUrl, "--client-id", clientId, "--resource", server.url, "--port", String(port), "--output-dir", outputDir];
    const run = await runAuthorizationLeg(node, args, server.baseUrl, (url) => agent.authorize(url, callback));
    let outcome: AuthorizationOutcome | undefined;
    let browseError: unknown;
    try {
      outcome = await run.browsed;
    } catch (error) {
      browseError = error;
    }
    return { run, outcome, browseError, results: await readAuthorizationResults(outputDir), callback };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

describe("MCP conformance: authorization server scenarios against examples/todo (LocalOAuthProvider)", () => {
  let node: string;
  let server: ServerProcess;
  let storeDir: string;
  let leg: Leg;

  beforeAll(async () => {
    node = await node22();
    storeDir = await mkdtemp(join(tmpdir(), "fastmcp-conformance-as-"));
    server = await startTodoServer({ TODO_USERS: "alice:wonderland", TODO_STORE_DIR: storeDir });
    leg = await runLeg(node, server, "approve");
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  it("runs every scenario the suite lists for an authorization server", async () => {
    const listed = await conformance(node, ["list", "--authorization"], 30_000);
    expect([...listed.stdout.matchAll(/^\s+- (\S+) \[/gm)].map((match) => match[1])).toEqual([...SCENARIOS]);
    expect([...leg.results.keys()].sort()).toEqual([...SCENARIOS].sort());
  });

  it("the scripted browser logged in, approved, and brought the code to the suite's callback", () => {
    const { outcome, browseError, callback } = leg;
    expect(browseError).toBeUndefined();
    expect(outcome!.prompts).toEqual(["login", "consent"]);
    expect(outcome!.params.get("code")).toBeTruthy();
    expect(outcome!.params.get("iss")).toBe(server.baseUrl);
    expect(outcome!.delivered).toMatchObject({ status: 200 });
    expect(outcome!.delivered!.url.startsWith(`${callback}?`)).toBe(true);
  });

  it("the suite exits 0", () => {
    const { run } = leg;
    expect(run.code, `${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`).toBe(0);
  });

  it.each(SCENARIOS)("%s: every check is SUCCESS", (scenario) => {
    const checks = leg.results.get(scenario) ?? [];
    expect(checks.length, `${scenario} reported no check`).toBeGreaterThan(0);
    expect(describeChecks(checks, "FAILURE")).toEqual([]);
    // No WARNING either: client_id_metadata_document_supported is advertised (CIMD is on by default).
    expect(describeChecks(checks, "WARNING")).toEqual([]);
    expect(checks.filter((check) => check.status !== "SUCCESS" && check.status !== "INFO").map((check) => `${check.id}: ${check.status}`)).toEqual([]);
    expect(checks.some((check) => check.status === "SUCCESS")).toBe(true);
  });

  it("the suite's request named the MCP endpoint as resource and no scope: the server granted its required scope", () => {
    const [check] = leg.results.get("authorization-code-grant") ?? [];
    const details = check!.details as { authorizationRequest: string; body: Record<string, unknown> };
    const request = new URL(details.authorizationRequest).searchParams;
    expect(request.get("resource")).toBe(server.url);
    expect(request.has("scope")).toBe(false);
    expect(details.body).toMatchObject({ token_type: "Bearer", scope: "todo:read", expires_in: 3600 });
  });

  // The verdict depends on what the browser did: denying consent fails the code grant.
  it("negative control: when the user denies, the code-grant scenario fails with access_denied", async () => {
    const denied = await runLeg(node, server, "deny");
    expect(denied.browseError).toBeUndefined();
    expect(denied.outcome!.params.get("error")).toBe("access_denied");
    expect(denied.outcome!.delivered).toMatchObject({ status: 200 });
    expect(denied.run.code).toBe(1);
    expect(describeChecks(denied.results.get("authorization-code-grant") ?? [], "FAILURE")).toEqual([expect.stringContaining("access_denied")]);
    expect(describeChecks(denied.results.get("authorization-server-metadata-endpoint") ?? [], "FAILURE")).toEqual([]);
  }, 120_000);
});
