import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { freePort } from "../helpers/ports.js";
export { freePort };

/** The built CLI: these tests run what `npm run build` produced. */
export const BIN = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url));
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to a clean environment (the fixtures' own variables removed). */
  env?: Record<string, string>;
  /** Not stopped by {@link killChildren}: a server shared by a describe block, stopped in its afterAll. */
  keepAcrossTests?: boolean;
}

/** A CLI process that keeps running (a server), with its output so far. */
export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the full result once the process has exited. */
  readonly exited: Promise<CliResult>;
}

const children = new Set<ChildProcessWithoutNullStreams>();

/** Starts the CLI and returns at once; {@link killChildren} stops it if the test does not. */
export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO, env: cleanEnv(options.env) });
  if (!options.keepAcrossTests) children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
  const exited = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs the CLI to completion (stdin closed at once). */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const cli = startCli(args, options);
  cli.child.stdin.end();
  return cli.exited;
}

/** For afterEach: kills every CLI process a test left running. */
export async function killChildren(): Promise<void> {
  await Promise.all([...children].map((child) => new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.kill("SIGKILL");
  })));
}

/** Waits until the process's stderr matches, failing early if it exits or time runs out. */
export async function waitForStderr(cli: CliProcess, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void cli.exited.then(() => { exited = true; });
  for (;;) {
    const match = cli.stderr().match(pattern);
    if (match) return match;
    if (exited || Date.now() > deadline) {
      throw new Error(`stderr never matched ${pattern} (${exited ? "process exited" : "timed out"}); stderr was:\n${cli.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const BANNER = /serving Streamable HTTP at (http:\/\/\S+)/;

/** Starts `run <args> --transport http --port 0` and returns the process and its MCP URL (from the banner). */
export async function serveHttp(args: string[], options: CliOptions = {}): Promise<CliProcess & { url: string }> {
  const cli = startCli(["run", ...args, "--transport", "http", "--port", "0"], options);
  const match = await waitForStderr(cli, BANNER);
  return Object.assign(cli, { url: match[1]! });
}


/** The CLI failed the way a user should see it: a non-zero code and one `fastmcp-ts:` line, no stack. */
export function expectOneLineFailure(result: CliResult, message: RegExp | string, code?: number): void {
  expect(result.code, result.stderr).not.toBe(0);
  expect(result.code).not.toBeNull();
  if (code !== undefined) expect(result.code).toBe(code);
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^fastmcp-ts: /);
  expect(lines[0]).not.toMatch(/\bat .+:\d+:\d+/);
  if (typeof message === "string") expect(lines[0]).toContain(message);
  else expect(lines[0]).toMatch(message);
  expect(result.stdout).toBe("");
}

/** The parent's environment without variables the fixtures read, so tests do not leak into each other. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("FIXTURE_") && key !== "NODE_OPTIONS") env[key] = value;
  return { ...env, ...extra };
}
