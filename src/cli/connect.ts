import { existsSync } from "node:fs";
import type { OAuth } from "../client/auth/oauth.js";
import { Client } from "../client/client.js";
import { CliError, UsageError } from "./errors.js";
import { loadEnvironment } from "./env.js";
import { parseHeader } from "./flags.js";
import type { FastMCP } from "../server/fastmcp.js";
import { loadServer, parseFileTarget, setRunOverride } from "./loader.js";

export interface ConnectionRequest {
  /** An http(s) URL, or a server file (`server.ts[:export]`). */
  readonly target: string;
  readonly token: string | undefined;
  /** OAuth (--auth oauth), for URLs. */
  readonly oauth?: OAuth | undefined;
  /** Raw `Name: value` strings from --header. */
  readonly headers: readonly string[];
  readonly envFile: string | undefined;
  readonly timeoutMs?: number;
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A connected client for a URL (over HTTP) or for a server file (loaded and queried in memory). */
export async function openClient(request: ConnectionRequest): Promise<Client> {
  const client = URL_SCHEME.test(request.target) ? clientForUrl(request) : await clientForFile(request);
  await client.connect();
  return client;
}

function clientForUrl(request: ConnectionRequest): Client {
  const headers = Object.fromEntries(request.headers.map(parseHeader));
  return new Client(request.target, {
    name: "fastmcp-ts-cli",
    headers,
    ...(request.oauth !== undefined ? { auth: request.oauth } : request.token !== undefined ? { auth: request.token } : {}),
    ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
  });
}

async function clientForFile(request: ConnectionRequest): Promise<Client> {
  const file = parseFileTarget(request.target);
  if (!existsSync(file.path)) throw new CliError(`File not found: ${file.path} (expected a server file or an http(s) URL)`);
  if (request.token !== undefined || request.headers.length > 0) {
    throw new UsageError("--token and --header only apply to http(s) URLs: a server file is queried in memory");
  }
  loadEnvironment(request.envFile);
  // If the file starts its own server, that call must start nothing: we only query it in memory.
  setRunOverride({ inspectOnly: true });
  const server = await loadServer(file);
  return new Client(server as FastMCP, {
    name: "fastmcp-ts-cli",
    ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
  });
}
