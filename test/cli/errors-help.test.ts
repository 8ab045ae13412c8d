import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { closedPort } from "../helpers/ports.js";
import { expectOneLineFailure, fixture, killChildren, REPO, runCli } from "./helpers.js";

afterEach(killChildren);

describe("failures print one line and exit non-zero", () => {
  it("file not found", async () => {
    expectOneLineFailure(await runCli(["run", "missing-server.ts"]), "File not found: missing-server.ts", 1);
    expectOneLineFailure(await runCli(["list", "missing-server.ts"]), "File not found: missing-server.ts", 1);
    expectOneLineFailure(await runCli(["call", "missing-server.ts:mcp", "add"]), "File not found: missing-server.ts", 1);
  });

  it("no FastMCP export, naming the exports that exist", async () => {
    const result = await runCli(["run", fixture("no-server.js")]);
    expectOneLineFailure(result, "No FastMCP server found", 1);
    expect(result.stderr).toContain("its exports are: answer (a number), helper (a function)");
  });

  it("servers only under other names: suggests file:name", async () => {
    const result = await runCli(["list", fixture("named.ts")]);
    expectOneLineFailure(result, "No FastMCP server found", 1);
    expect(result.stderr).toContain("primary (a FastMCP server), secondary (a FastMCP server)");
    expect(result.stderr).toContain(`select one with ${fixture("named.ts")}:primary`);
  });

  it("an export name that does not exist, or is not a server", async () => {
    expectOneLineFailure(await runCli(["run", `${fixture("named.ts")}:tertiary`]), 'has no export named "tertiary"; its exports are: primary', 1);
    expectOneLineFailure(await runCli(["run", `${fixture("no-server.js")}:answer`]), 'Export "answer" of', 1);
  });

  it("a file that throws while loading", async () => {
    expectOneLineFailure(await runCli(["run", fixture("throws.mjs")]), "fixture failed at import time", 1);
  });

  it("an unreachable server", async () => {
    const result = await runCli(["list", `http://127.0.0.1:${await closedPort()}/mcp`]);
    expectOneLineFailure(result, "connection refused", 1);
  });

  it("an unknown tool, listing the available ones", async () => {
    const result = await runCli(["call", fixture("server.js"), "whisper"]);
    expectOneLineFailure(result, 'Unknown tool "whisper"; available tools: shout', 1);
  });

  it("an argument that does not fit the schema", async () => {
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "add", "a=x", "b=1"]), 'Argument "a" must be a number, got "x"', 2);
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "describe", "count=1.5"]), 'Argument "count" must be an integer', 2);
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "describe", "flag=maybe"]), 'Argument "flag" must be a boolean', 2);
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "describe", "tags={}"]), 'Argument "tags" must be a JSON array', 2);
  });

  it("a positional that is not key=value", async () => {
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "add", "two"]), 'Bad argument "two": expected key=value', 2);
  });

  it("malformed --json", async () => {
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "add", "--json", "{a: 1}"]), "--json is not valid JSON", 2);
    expectOneLineFailure(await runCli(["call", fixture("server.ts"), "add", "--json", "[1, 2]"]), "--json must be a JSON object", 2);
  });

  it("malformed --header, without echoing it", async () => {
    const result = await runCli(["list", "http://127.0.0.1:9/mcp", "--header", "secret-without-colon"]);
    expectOneLineFailure(result, 'Malformed --header: expected "Name: value"', 2);
    expect(result.stderr).not.toContain("secret-without-colon");
  });

  it("usage mistakes: unknown command, unknown option, missing argument, bad values", async () => {
    expectOneLineFailure(await runCli(["serve"]), 'Unknown command "serve"', 2);
    expectOneLineFailure(await runCli(["list", fixture("server.ts"), "--jsn"]), 'Unknown option --jsn for "list"', 2);
    expectOneLineFailure(await runCli(["call", fixture("server.ts")]), "Missing required positional argument: TOOL", 2);
    expectOneLineFailure(await runCli(["run", fixture("server.ts"), "--transport", "tcp"]), "Invalid value for argument: --transport (tcp)", 2);
    expectOneLineFailure(await runCli(["run", fixture("server.ts"), "--port", "http"]), '--port must be an integer between 0 and 65535, got "http"', 2);
    expectOneLineFailure(await runCli(["list", fixture("server.ts"), "--token", "abcd1234"]), "--token and --header only apply to http(s) URLs", 2);
  });

  it("a missing --env-file", async () => {
    // Node checks every "--env-file <path>" in argv, even after the script name (nodejs/node#54232),
    // and exits 9 before the CLI runs: one line still, in Node's words until Node stops doing that.
    const result = await runCli(["run", fixture("server.ts"), "--env-file", "nowhere.env"]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^(\S*node: nowhere\.env: not found|fastmcp-ts: Env file not found: nowhere\.env)\n$/);
  });

  it("--debug prints the stack instead", async () => {
    const result = await runCli(["run", "missing-server.ts", "--debug"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^fastmcp-ts: CliError: File not found: missing-server.ts\n/);
    expect(result.stderr).toMatch(/\n\s+at .+:\d+:\d+/);
  });
});

describe("help and version", () => {
  const version = (JSON.parse(readFileSync(`${REPO}/package.json`, "utf8")) as { version: string }).version;

  it("--version prints the package version", async () => {
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  it("--help on the root lists the commands", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("USAGE fastmcp-ts [OPTIONS] run|list|call|token");
    for (const command of ["run", "list", "call", "token"]) expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\s+\\S`, "m"));
    expect(result.stdout).not.toMatch(/\u001B\[/);
  });

  it.each([
    ["run", ["USAGE fastmcp-ts run [OPTIONS] <SERVER>", "--transport=<stdio|http|sse|streamable-http>", "--port=<port>", "--env-file=<path>"]],
    ["list", ["USAGE fastmcp-ts list [OPTIONS] <TARGET>", "--json", "--token=<token>", "-H, --header=<Name: value>"]],
    ["call", ["USAGE fastmcp-ts call [OPTIONS] <TARGET> <TOOL> [ARGUMENTS]", "--json=<{...}>", "--output=<text|json>", "fastmcp-ts call server.ts add a=2 b=3"]],
  ])("%s --help", async (command, expected) => {
    const result = await runCli([command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    for (const text of expected) expect(result.stdout).toContain(text);
  });
});
