import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { BIN, expectOneLineFailure, fixture, freePort, killChildren, runCli, serveHttp, startCli, waitForStderr } from "./helpers.js";

afterEach(killChildren);

describe("fastmcp-ts run --transport http", () => {
  it("serves a TypeScript file that list and call can reach", async () => {
    const server = await serveHttp([fixture("server.ts")]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(server.stderr()).toContain('"fixture-ts" serving Streamable HTTP');

    const listed = await runCli(["list", server.url]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("Server: fixture-ts 1.2.3");
    expect(listed.stdout).toContain("add(a: number, b: number)");

    const called = await runCli(["call", server.url, "add", "a=2", "b=3"]);
    expect(called.code, called.stderr).toBe(0);
    expect(called.stdout).toBe("5\n");
    expect(called.stderr).toBe("");
  });

  it("serves a JavaScript file's default export", async () => {
    const server = await serveHttp([fixture("server.js")]);
    const called = await runCli(["call", server.url, "shout", "text=hello"]);
    expect(called.stdout).toBe("HELLO\n");
  });

  it("serves the export named after ':'", async () => {
    const server = await serveHttp([`${fixture("named.ts")}:secondary`]);
    expect(server.stderr()).toContain('"fixture-secondary"');
    const called = await runCli(["call", server.url, "which"]);
    expect(called.stdout).toBe("secondary\n");
  });

  it("honours --host and --path", async () => {
    const port = await freePort();
    const cli = startCli(["run", fixture("server.js"), "--transport", "http", "--host", "127.0.0.1", "--port", String(port), "--path", "/custom"]);
    await waitForStderr(cli, /serving Streamable HTTP at /);
    expect(cli.stderr()).toContain(`at http://127.0.0.1:${port}/custom\n`);
    const called = await runCli(["call", `http://127.0.0.1:${port}/custom`, "shout", "text=ok"]);
    expect(called.stdout).toBe("OK\n");
  });

  it("serves SSE with --transport sse", async () => {
    const cli = startCli(["run", fixture("server.js"), "--transport", "sse", "--port", "0"]);
    const [, url] = await waitForStderr(cli, /"fixture-js" serving SSE at (http:\/\/\S+)/);
    expect(url).toMatch(/\/sse$/);
    const called = await runCli(["call", url!, "shout", "text=over sse"]);
    expect(called.code, called.stderr).toBe(0);
    expect(called.stdout).toBe("OVER SSE\n");
  });

  it("starts a file that calls mcp.run() itself once, on the CLI's port", async () => {
    const port = await freePort();
    const cli = startCli(["run", fixture("self-run.ts"), "--transport", "http", "--port", String(port)]);
    await waitForStderr(cli, /fixture: run\(\) returned/);
    // The file asked for port 8765 and path /from-file: the CLI's port wins, the file's path stays.
    const url = `http://127.0.0.1:${port}/from-file`;
    const called = await runCli(["call", url, "ping"]);
    expect(called.stdout).toBe("pong\n");
    expect(cli.stderr().match(/serving Streamable HTTP/g)).toHaveLength(1);
    expect(cli.stderr()).toContain(`serving Streamable HTTP at ${url}\n`);
  });

  it("finishes a call in flight on SIGTERM, then exits 0", async () => {
    const server = await serveHttp([fixture("server.ts")]);
    const call = startCli(["call", server.url, "slow", "ms=1500"]);
    await waitForStderr(server, /fixture: slow call started/);
    server.child.kill("SIGTERM");

    const called = await call.exited;
    expect(called.code, called.stderr).toBe(0);
    expect(called.stdout).toBe("slow call done\n");
    const stopped = await server.exited;
    expect(stopped.signal).toBeNull();
    expect(stopped.code).toBe(0);
  });

  it("fails with one line when the port is in use", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const result = await runCli(["run", fixture("server.ts"), "--transport", "http", "--port", String(port)]);
      expectOneLineFailure(result, `Port ${port} on 127.0.0.1 is already in use`, 1);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe("fastmcp-ts run (stdio)", () => {
  it("serves over stdio by default, driven by the official MCP client", async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, "run", fixture("server.ts")], stderr: "pipe" });
    const client = new Client({ name: "cli-test", version: "1.0.0" });
    try {
      await client.connect(transport);
      expect(client.getServerVersion()?.name).toBe("fixture-ts");
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain("add");
      const result = await client.callTool({ name: "add", arguments: { a: 2, b: 3 } });
      expect(result.content).toEqual([{ type: "text", text: "5" }]);
    } finally {
      await client.close();
    }
  });

  it("exits 0 when its stdin closes", async () => {
    const result = await runCli(["run", fixture("server.js")]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("");
  });
});

describe("fastmcp-ts run environment", () => {
  it("loads ./.env before importing the server file", async () => {
    const directory = mkdtempSync(join(tmpdir(), "fastmcp-ts-cli-"));
    try {
      writeFileSync(join(directory, ".env"), "FIXTURE_GREETING=from-dotenv\n");
      const server = await serveHttp([fixture("server.ts")], { cwd: directory });
      const called = await runCli(["call", server.url, "greeting"]);
      expect(called.stdout).toBe("from-dotenv\n");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("loads --env-file", async () => {
    const directory = mkdtempSync(join(tmpdir(), "fastmcp-ts-cli-"));
    try {
      writeFileSync(join(directory, "custom.env"), "FIXTURE_GREETING=from-env-file\n");
      const server = await serveHttp([fixture("server.ts"), "--env-file", join(directory, "custom.env")]);
      const called = await runCli(["call", server.url, "greeting"]);
      expect(called.stdout).toBe("from-env-file\n");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
