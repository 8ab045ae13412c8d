import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.js";
export { freePort };

/** The built CLI (`npm test` builds it first), as `npx fastmcp-ts` runs it. */
export const CLI = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url));
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** A server process started the way its README says, with the output it printed so far. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>`: BASE_URL, the issuer. */
  readonly baseUrl: string;
  /** The MCP endpoint. */
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  stderr(): string;
  stdout(): string;
  /** Stops the process (SIGTERM, or `signal`) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  /** Added to the environment (over a copy of this process's, without FastMCP and example settings). */
  env?: Record<string, string>;
  /** Listen on this port (a restart on the same URL); default a free one. */
  port?: number;
}

/** `fastmcp-ts run examples/todo/server.ts --transport http --port <port>` with BASE_URL set to match. */
export function startTodoServer(env: Record<string, string>, options: Omit<StartOptions, "env"> = {}): Promise<ServerProcess> {
  return startServerProcess((port) => [CLI, "run", "examples/todo/server.ts", "--transport", "http", "--port", String(port)], { ...options, env: { ...env } }, (port) => ({ BASE_URL: `http://127.0.0.1:${port}` }));
}

const BANNER = /serving Streamable HTTP at (http:\/\/\S+)/;

/**
 * Starts `node <args(port)>` on a free port (retrying if another process takes the port first)
 * and waits for the FastMCP banner on stderr.
 */
export async function startServerProcess(
  args: (port: number) => string[],
  options: StartOptions = {},
  portEnv: (port: number) => Record<string, string> = () => ({}),
): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn(process.execPath, args(port), { cwd: REPO, env: { ...cleanEnv(), ...portEnv(port), ...options.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
      child.kill(signal);
      await exited;
      clearTimeout(force);
    };
    const banner = await waitFor(() => BANNER.exec(stderr)?.[1], exited, 30_000);
    if (banner !== undefined) {
      return { baseUrl: `http://127.0.0.1:${port}`, url: banner, child, stderr: () => stderr, stdout: () => stdout, stop };
    }
    await stop("SIGKILL");
    if (options.port !== undefined || attempt === 3 || !/in use|EADDRINUSE/i.test(stderr)) {
      throw new Error(`the server did not start (exit ${child.exitCode ?? child.signalCode}); stderr:\n${stderr}`);
    }
  }
}

/** Polls `probe` until it returns a value; undefined if `exited` settles first or time runs out. */
async function waitFor<T>(probe: () => T | undefined, exited: Promise<void>, timeoutMs: number): Promise<T | undefined> {
  let done = false;
  void exited.then(() => { done = true; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (done || Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** This process's environment without what would change how a server under test is configured. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key === "NODE_OPTIONS" || key.startsWith("FASTMCP_") || key.startsWith("TODO_") || key === "BASE_URL") continue;
    env[key] = value;
  }
  return env;
}


/** The development login a LocalOAuthProvider without users prints on stderr. */
export function developmentLogin(stderr: string): { username: string; password: string } | undefined {
  const match = /development login — username (\S+), password (\S+) /.exec(stderr);
  return match ? { username: match[1]!, password: match[2]! } : undefined;
}
