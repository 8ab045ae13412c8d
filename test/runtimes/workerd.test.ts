/**
 * `mcp.httpApp()` as a Cloudflare Worker: the fixture (test/runtimes/fixtures/worker.mjs) bundled
 * from dist/ with esbuild, served by workerd (the Workers runtime, from npm), and called by the
 * official MCP client with a JWT its JWTVerifier checks. Stateless: a Worker keeps no sessions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client as SdkClient, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { JWTKeyPair } from "fastmcp-ts/auth";
import { freePort } from "../helpers/ports.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/worker.mjs", import.meta.url));
const WORKERD = fileURLToPath(new URL("../../node_modules/.bin/workerd", import.meta.url));
const ISSUER = "https://issuer.example";

let dir: string;
let child: ChildProcess | undefined;
let url: string;
const keys = JWTKeyPair.generate("ES256");

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fastmcp-workerd-"));
  await build({ entryPoints: [FIXTURE], bundle: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], conditions: ["workerd", "worker", "import"], external: ["node:*"], outfile: join(dir, "worker.mjs"), logLevel: "silent" });
  const port = await freePort();
  url = `http://127.0.0.1:${port}/mcp`;
  writeFileSync(join(dir, "public-key.pem"), keys.publicKey);
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2026-11-01",
  bindings = [ (name = "PUBLIC_KEY", text = embed "public-key.pem"), (name = "BASE_URL", text = "http://127.0.0.1:${port}") ],
);
`);
  child = spawn(WORKERD, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(url, { method: "GET" });
      return;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`workerd did not serve: ${output}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});

afterAll(() => {
  child?.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("an authenticated server as a Cloudflare Worker (workerd)", () => {
  it("refuses a request without a token with the 401 challenge", async () => {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  });

  it("serves the official client with a JWT checked by JWTVerifier", async () => {
    const token = await keys.createToken({ issuer: ISSUER, audience: url, subject: "alice" });
    const client = new SdkClient({ name: "workerd-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      const me = JSON.parse(((await client.callTool({ name: "whoami", arguments: {} })).content as Array<{ text: string }>)[0]!.text) as { runtime: string; subject: string };
      expect(me.runtime).toMatch(/^workerd /);
      expect(me.subject).toBe("alice");
    } finally {
      await client.close();
    }
  });
});
