import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectOneLineFailure, fixture, killChildren, REPO, runCli, serveHttp } from "./helpers.js";

afterEach(killChildren);

describe("fastmcp-ts list <file>", () => {
  it("lists tools, resources, templates and prompts in memory", async () => {
    const result = await runCli(["list", fixture("server.ts")]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("Server: fixture-ts 1.2.3");
    expect(result.stdout).toContain("Tools (8)\n  add(a: number, b: number)\n      Adds two numbers\n");
    expect(result.stdout).toContain("  describe(count: integer, flag: boolean, tags: string[], options: object, label: string, extra?: string)");
    expect(result.stdout).toContain("Resources (1)\n  config://app  (app-config, application/json)\n      The app configuration");
    expect(result.stdout).toContain("Resource templates (1)\n  users://{id}/profile  (user-profile)");
    expect(result.stdout).toContain("Prompts (1)\n  greet(name, style?)\n      Greets someone");
  });

  it("prints one JSON object with --json", async () => {
    const result = await runCli(["list", fixture("server.ts"), "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout) as Record<string, Array<Record<string, unknown>>> & { server: { name: string } };
    expect(listing.server.name).toBe("fixture-ts");
    const add = listing.tools!.find((tool) => tool.name === "add");
    expect(add?.inputSchema).toMatchObject({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } } });
    expect(listing.resources!.map((resource) => resource.uri)).toEqual(["config://app"]);
    expect(listing.resourceTemplates!.map((template) => template.uriTemplate)).toEqual(["users://{id}/profile"]);
    expect(listing.prompts!.map((prompt) => prompt.name)).toEqual(["greet"]);
  });

  it("loads .js files and the export named after ':'", async () => {
    const js = await runCli(["list", fixture("server.js")]);
    expect(js.stdout).toContain("Server: fixture-js");
    expect(js.stdout).toContain("shout(text: string)");
    const named = await runCli(["list", `${fixture("named.ts")}:primary`]);
    expect(named.stdout).toContain("Server: fixture-primary");
  });

  it("keeps a file that calls mcp.run() itself quiet: no banner, stdout untouched", async () => {
    const result = await runCli(["list", fixture("self-run.ts")]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("ping()");
    expect(result.stderr).not.toContain("serving");
  });
});

describe("fastmcp-ts call <file>", () => {
  it("prints the text of the result", async () => {
    const result = await runCli(["call", fixture("server.ts"), "add", "a=2", "b=3"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("5\n");
  });

  it("coerces key=value by the input schema", async () => {
    const result = await runCli(["call", fixture("server.ts"), "describe", "count=3", "flag=yes", 'tags=["a","b"]', 'options={"deep":false}', "label=42"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      count: { value: 3, type: "number" },
      flag: { value: true, type: "boolean" },
      tags: { value: ["a", "b"], type: "array" },
      options: { value: { deep: false }, type: "object" },
      label: { value: "42", type: "string" },
    });
  });

  it("merges --json with key=value, key=value winning", async () => {
    const result = await runCli(["call", fixture("server.ts"), "add", "--json", '{"a": 10, "b": 1}', "b=5"]);
    expect(result.stdout).toBe("15\n");
  });

  it("prints structured content as indented JSON (once)", async () => {
    const result = await runCli(["call", fixture("server.ts"), "weather", "city=Paris"]);
    expect(result.stdout).toBe('{\n  "city": "Paris",\n  "celsius": 21\n}\n');
  });

  it("prints a one-line placeholder for images", async () => {
    const result = await runCli(["call", fixture("server.ts"), "picture"]);
    expect(result.stdout).toBe("[image: image/png, 5 bytes]\na tiny picture\n");
  });

  it("prints the full result with --output json", async () => {
    const result = await runCli(["call", fixture("server.ts"), "weather", "city=Oslo", "--output", "json"]);
    expect(JSON.parse(result.stdout)).toEqual({
      content: [{ type: "text", text: '{"city":"Oslo","celsius":21}' }],
      structuredContent: { city: "Oslo", celsius: 21 },
    });
  });

  it("reports a tool error on stderr and exits 1", async () => {
    const result = await runCli(["call", fixture("server.ts"), "fail"]);
    expectOneLineFailure(result, "fastmcp-ts: the tool failed on purpose", 1);
  });

  it("prints the error result as JSON with --output json, still exiting 1", async () => {
    const result = await runCli(["call", fixture("server.ts"), "fail", "--output", "json"]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ isError: true, content: [{ type: "text", text: "the tool failed on purpose" }] });
    expect(result.stderr).toBe("fastmcp-ts: the tool failed on purpose\n");
  });

  it("reads ./.env, with the real environment and --env-file taking precedence", async () => {
    const directory = mkdtempSync(join(tmpdir(), "fastmcp-ts-cli-"));
    try {
      writeFileSync(join(directory, ".env"), "FIXTURE_GREETING=from-dotenv\n");
      writeFileSync(join(directory, "other.env"), "FIXTURE_GREETING=from-env-file\n");
      const call = (args: string[], env?: Record<string, string>) => runCli(["call", fixture("server.ts"), "greeting", ...args], { cwd: directory, ...(env ? { env } : {}) });
      expect((await call([])).stdout).toBe("from-dotenv\n");
      expect((await call([], { FIXTURE_GREETING: "from-env" })).stdout).toBe("from-env\n");
      expect((await call(["--env-file", "other.env"])).stdout).toBe("from-env-file\n");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("fastmcp-ts list/call <url>", () => {
  let server: Awaited<ReturnType<typeof serveHttp>>;
  const token = "s3cret-fixture-token";

  beforeAll(async () => {
    server = await serveHttp([fixture("auth-server.mjs")], { env: { FIXTURE_TOKEN: token }, keepAcrossTests: true });
  });

  afterAll(async () => {
    server.child.kill("SIGKILL");
    await server.exited;
  });

  it("sends --token as a bearer token", async () => {
    const result = await runCli(["call", server.url, "whoami", "--token", token]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("cli-test\n");
  });

  it("sends every --header", async () => {
    const result = await runCli(["list", server.url, "-H", "X-Ignored: 1", "--header", `Authorization: Bearer ${token}`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("whoami()");
  });

  it("fails without printing a rejected token, even with --debug", async () => {
    const wrong = "wrong-token-0123456789";
    const plain = await runCli(["call", server.url, "whoami", "--token", wrong]);
    expectOneLineFailure(plain, /401|unauthori[sz]ed|invalid/i);
    expect(plain.stderr).not.toContain(wrong);
    const debug = await runCli(["call", server.url, "whoami", "--token", wrong, "--debug"]);
    expect(debug.code).not.toBe(0);
    expect(debug.stderr).not.toContain(wrong);
    const header = await runCli(["list", server.url, "--header", `Authorization: Bearer ${wrong}`, "--debug"]);
    expect(header.code).not.toBe(0);
    expect(header.stderr).not.toContain(wrong);
  });
});

describe("a server built with another copy of fastmcp-ts", () => {
  // Inside the repository so that the copy's bare imports resolve from its node_modules (.cache/ is git-ignored).
  const copy = join(REPO, "test/cli/.cache/foreign-copy");

  beforeAll(() => {
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(copy, { recursive: true });
    cpSync(join(REPO, "dist"), join(copy, "dist"), { recursive: true, filter: (source) => !source.includes(`${join("dist", "cli")}`) });
    writeFileSync(join(copy, "server.mjs"), [
      'import { FastMCP } from "./dist/index.js";',
      'export const mcp = new FastMCP({ name: "foreign" });',
      'mcp.tool({ name: "hello", execute: () => "hello from another copy" });',
    ].join("\n"));
  });

  afterAll(() => {
    rmSync(dirname(copy), { recursive: true, force: true });
  });

  it("is found by shape and queried in memory", async () => {
    const result = await runCli(["call", join(copy, "server.mjs"), "hello"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("hello from another copy\n");
  });

  it("is served by run", async () => {
    const running = await serveHttp([join(copy, "server.mjs")]);
    const result = await runCli(["call", running.url, "hello"]);
    expect(result.stdout).toBe("hello from another copy\n");
  });
});
