import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The conformance CLI bundled with the devDependency @modelcontextprotocol/conformance. */
const CONFORMANCE_CLI = repoFile("node_modules/@modelcontextprotocol/conformance/dist/index.js");

export type CheckStatus = "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";

/** One entry of a scenario's checks.json. */
export interface Check {
  id: string;
  name: string;
  description: string;
  status: CheckStatus;
  errorMessage?: string;
  details?: unknown;
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without blocking the event loop: the server under test lives in this process,
 * so a synchronous spawn would leave every request of the suite unanswered.
 */
export function runProcess(command: string, args: string[], timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => { stderr += chunk; });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The Node 22 binary the suite needs (scripts/node22.mjs installs it on first use). */
export async function node22(): Promise<string> {
  const result = await runProcess(process.execPath, [repoFile("scripts/node22.mjs")], 170_000);
  if (result.code !== 0) throw new Error(`scripts/node22.mjs failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout.trim();
}

/** Runs `conformance <args>` under Node 22. */
export async function conformance(node: string, args: string[], timeoutMs: number): Promise<ProcessResult> {
  return runProcess(node, [CONFORMANCE_CLI, ...args], timeoutMs);
}

/** The server scenarios the suite lists for a spec version. */
export async function listServerScenarios(node: string, specVersion: string): Promise<string[]> {
  const result = await conformance(node, ["list", "--server", "--spec-version", specVersion], 30_000);
  if (result.code !== 0) throw new Error(`conformance list failed (exit ${result.code}): ${result.stderr}`);
  return [...result.stdout.matchAll(/^\s+- (\S+) \[/gm)].map((match) => match[1]!);
}

/** `server-<scenario>-<ISO timestamp with : and . replaced by ->`, as the CLI names result folders. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Reads every `<outputDir>/server-<scenario>-<timestamp>/checks.json`, keyed by scenario. */
export async function readResults(outputDir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for (const entry of await readdir(outputDir, { withFileTypes: true })) {
    const scenario = entry.isDirectory() ? RESULT_DIR.exec(entry.name)?.[1] : undefined;
    if (scenario === undefined) continue;
    if (results.has(scenario)) throw new Error(`scenario ${scenario} has two result folders in ${outputDir}`);
    results.set(scenario, JSON.parse(await readFile(join(outputDir, entry.name, "checks.json"), "utf8")) as Check[]);
  }
  return results;
}

/** `<id>: <message>` lines for the checks with a given status, for readable assertion diffs. */
export function describeChecks(checks: Check[], status: CheckStatus): string[] {
  return checks.filter((check) => check.status === status).map((check) => `${check.id}: ${check.errorMessage ?? check.description}`);
}
