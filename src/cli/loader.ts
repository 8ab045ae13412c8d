import { existsSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FastMCP } from "../server/fastmcp.js";
import { RUN_OVERRIDE, type RunOverride } from "../server/run.js";
import { CliError, messageOf } from "./errors.js";

/** A server file as written on the command line: `server.ts` or `server.ts:exportName`. */
export interface FileTarget {
  readonly path: string;
  readonly exportName: string | undefined;
}

/** What the CLI uses of a FastMCP instance, whichever copy of the package created it. */
export type ServerLike = Pick<FastMCP, "name" | "run" | "connect" | "tool" | "httpApp">;

/** Exports tried, in order, when the target names none (as the Python CLI does). */
const CONVENTIONAL_EXPORTS = ["default", "mcp", "server", "app"] as const;

const TYPESCRIPT_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".tsx"]);

const WITH_EXPORT = /^(.+):([A-Za-z_$][\w$]*)$/;

export function parseFileTarget(spec: string): FileTarget {
  if (existsSync(spec)) return { path: spec, exportName: undefined };
  const match = WITH_EXPORT.exec(spec);
  // A one-letter prefix is a Windows drive ("C:server"), not a file followed by an export name.
  if (match && match[1]!.length > 1) return { path: match[1]!, exportName: match[2]! };
  return { path: spec, exportName: undefined };
}

/** A FastMCP instance by shape: `instanceof` fails for an instance from another copy of the package. */
export function isServerLike(value: unknown): value is ServerLike {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.tool === "function" && typeof candidate.run === "function" && typeof candidate.httpApp === "function";
}

/**
 * Makes the file's own `mcp.run(...)` call (if any) use these options: run() merges them over its
 * arguments. Must be set before the file is imported.
 */
export function setRunOverride(options: RunOverride): void {
  (globalThis as Record<symbol, RunOverride | undefined>)[RUN_OVERRIDE] = options;
}

/** Imports a server file (TypeScript through tsx) and returns the FastMCP instance it exports. */
export async function loadServer(target: FileTarget): Promise<ServerLike> {
  const absolute = resolve(target.path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) throw new CliError(`File not found: ${target.path}`);
  const module = await importFile(absolute, target.path);
  return pickServer(module, target);
}

let typescriptEnabled = false;

async function importFile(absolute: string, shownPath: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT_EXTENSIONS.has(extname(absolute)) && !typescriptEnabled) {
    // register() (process-wide hooks) rather than tsImport(): tsImport loads every module in its own
    // namespace, so the file would get a second copy of fastmcp-ts and of everything else it imports.
    const { register } = await import("tsx/esm/api");
    register();
    typescriptEnabled = true;
  }
  try {
    return (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    if (isPortInUse(error)) throw error;
    throw new CliError(`Could not load ${shownPath}: ${messageOf(error)}`, { cause: error });
  }
}

/** PortInUseError by name: the file may have thrown it from another copy of the package. */
export function isPortInUse(error: unknown): error is Error {
  return error instanceof Error && error.name === "PortInUseError";
}

function pickServer(module: Record<string, unknown>, target: FileTarget): ServerLike {
  const exportNames = Object.keys(module);
  if (target.exportName !== undefined) return namedServer(module, target.exportName, target.path);
  for (const name of CONVENTIONAL_EXPORTS) {
    const value = module[name];
    if (isServerLike(value)) return value;
  }
  const servers = exportNames.filter((name) => isServerLike(module[name]));
  const hint = servers.length > 0 ? `; select one with ${target.path}:${servers[0]}` : "";
  throw new CliError(
    `No FastMCP server found in ${target.path}: looked for the default export and exports named mcp, server and app; ` +
    `${describeExports(module)}${hint}`,
  );
}

function namedServer(module: Record<string, unknown>, exportName: string, path: string): ServerLike {
  if (!(exportName in module)) throw new CliError(`${path} has no export named "${exportName}"; ${describeExports(module)}`);
  const value = module[exportName];
  if (!isServerLike(value)) throw new CliError(`Export "${exportName}" of ${path} is not a FastMCP server (it is ${kindOf(value)})`);
  return value;
}

function describeExports(module: Record<string, unknown>): string {
  const names = Object.keys(module);
  if (names.length === 0) return "the file exports nothing";
  return `its exports are: ${names.map((name) => `${name} (${kindOf(module[name])})`).join(", ")}`;
}

function kindOf(value: unknown): string {
  if (isServerLike(value)) return "a FastMCP server";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}
