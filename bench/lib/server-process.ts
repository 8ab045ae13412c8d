/** Starts each benchmarked server in its own `node` process, pinned to one core. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const ROOT = new URL("../../", import.meta.url).pathname;
const SOURCE = join(ROOT, "bench/servers.ts");
/** Inside node_modules so the transpiled file resolves the project's packages. */
const BUILD_DIR = join(ROOT, "node_modules/.cache/fastmcp-bench");
const ENTRY = join(ROOT, "dist/index.js");

export interface ServerProcess {
  readonly kind: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  core: number;
  /** Registers POST /__gc (FastMCP servers; node always runs with --expose-gc). */
  gcRoute?: boolean;
  /** Writes a V8 CPU profile of the server when it stops (node --cpu-prof). */
  cpuProfile?: { dir: string; name: string };
  /** More environment for the server (BENCH_JWT_*, BENCH_VERIFY). */
  env?: Record<string, string>;
}

/** Transpiles bench/servers.ts to plain JavaScript, so the servers run on bare `node`. */
export function buildServers(): string {
  const output = ts.transpileModule(readFileSync(SOURCE, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    fileName: SOURCE,
  });
  mkdirSync(BUILD_DIR, { recursive: true });
  const file = join(BUILD_DIR, "servers.mjs");
  writeFileSync(file, output.outputText);
  return file;
}

/** Fails unless dist/ exists; warns when a source file is newer than the build. */
export function checkDist(): void {
  if (!existsSync(ENTRY)) throw new Error("dist/index.js is missing: run `npm run build` first");
  const built = statSync(ENTRY).mtimeMs;
  const stale = sourceFiles(join(ROOT, "src")).filter((file) => statSync(file).mtimeMs > built);
  if (stale.length > 0) process.stderr.write(`warning: ${stale.length} file(s) in src/ are newer than dist/ (run \`npm run build\`): ${stale.slice(0, 3).join(", ")}\n`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

export async function startServer(script: string, kind: string, options: StartOptions): Promise<ServerProcess> {
  const profile = options.cpuProfile ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfile.dir, "--cpu-prof-name", options.cpuProfile.name] : [];
  const child = spawn("taskset", ["-c", String(options.core), process.execPath, "--expose-gc", ...profile, script, kind], {
    env: { ...process.env, ...options.env, FASTMCP_ENTRY: pathToFileURL(ENTRY).href, BENCH_GC: options.gcRoute ? "1" : "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await announcedPort(child, kind);
  // taskset execs node, so the child's pid is the server's.
  return {
    kind,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}/mcp`,
    stop: () => stopChild(child),
  };
}

function announcedPort(child: ChildProcess, kind: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`server ${kind} exited (code ${code}) before listening`));
    child.once("exit", onExit);
    lines.once("line", (line) => {
      child.off("exit", onExit);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
