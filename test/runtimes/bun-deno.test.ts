/**
 * `mcp.httpApp()` on runtimes other than Node: the same authenticated server (test/runtimes/
 * fixtures/server.mjs, built from dist/) served by Bun.serve and by Deno.serve, the runtimes taken
 * from npm (devDependencies `bun` and `deno`). The official MCP client completes a call against
 * each: with a JWT checked by JWTVerifier, and after signing in at the server's own login and
 * consent pages (LocalOAuthProvider on a MemoryStore).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Client as SdkClient, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { OAuthMcpClient } from "../helpers/mcp-oauth-client.js";
import { freePort } from "../helpers/ports.js";
import { UserAgent } from "../helpers/user-agent.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/server.mjs", import.meta.url));
const BIN = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

const RUNTIMES: Record<string, { command: string; args: string[] }> = {
  bun: { command: BIN("bun"), args: [FIXTURE] },
  deno: { command: BIN("deno"), args: ["run", "--allow-all", "--quiet", FIXTURE] },
};

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

interface Served {
  url: string;
  token?: string;
}

/** Starts the fixture under `runtime` with `auth`; resolves once it prints READY. */
async function serve(runtime: string, auth: "jwt" | "local"): Promise<Served> {
  const port = await freePort();
  const { command, args } = RUNTIMES[runtime]!;
  const child = spawn(command, args, { env: { ...process.env, AUTH: auth, PORT: String(port), NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} did not start within 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const ready = /^READY (.*)$/m.exec(output);
      if (!ready) return;
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${port}/mcp`, ...(JSON.parse(ready[1]!) as { token?: string }) });
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${runtime} exited with ${code}:\n${output}`));
    });
  });
}

function whoami(result: { content: unknown }): { runtime: string; subject: string } {
  return JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as { runtime: string; subject: string };
}

describe.each(Object.keys(RUNTIMES))("an authenticated server under %s", (runtime) => {
  it("serves the official client with a JWT checked by JWTVerifier, and refuses a request without one", async () => {
    const { url, token } = await serve(runtime, "jwt");
    expect((await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" })).status).toBe(401);
    const client = new SdkClient({ name: "runtime-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      const me = whoami(await client.callTool({ name: "whoami", arguments: {} }));
      expect(me.runtime.startsWith(`${runtime} `)).toBe(true);
      expect(me.subject).toBe("alice");
    } finally {
      await client.close();
    }
  });

  it("is its own authorization server: the official client registers, signs in at its pages and calls a tool", async () => {
    const { url } = await serve(runtime, "local");
    await using client = await new OAuthMcpClient(url, { userAgent: new UserAgent({ login: "alice", password: "correct horse battery staple" }) }).connect();
    const me = whoami(await client.callTool("whoami"));
    expect(me.runtime.startsWith(`${runtime} `)).toBe(true);
    expect(me.subject).toBe("alice");
    expect(client.authorizations.map((authorization) => authorization.prompts)).toEqual([["login", "consent"]]);
  });
});
