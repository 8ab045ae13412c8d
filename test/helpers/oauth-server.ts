import * as z from "zod";
import { FastMCP, getAccessToken, PortInUseError } from "fastmcp-ts";
import { requireScopes, type AuthProvider } from "fastmcp-ts/auth";
import { freePort } from "./ports.js";

/** The tools of the guarded server, by what they need beyond the server-wide `mcp:read`. */
export const TOOLS = {
  /** Needs only the server's required scope. */
  read: "read_notes",
  /** Declares `scopes: ["mcp:write"]`. */
  write: "write_note",
  /** Guarded by `auth: requireScopes("admin")`. */
  admin: "admin_report",
  /** Reports what the handler sees of the caller's token. */
  whoami: "whoami",
} as const;

export type ToolName = (typeof TOOLS)[keyof typeof TOOLS];

/** What the `whoami` tool returns. */
export interface WhoAmI {
  claims: Record<string, unknown>;
  scopes: string[];
  clientId: string | undefined;
  subject: string | undefined;
  /** Whether getAccessToken() returned the same token as ctx.auth. */
  sameToken: boolean;
}

export interface GuardedServer {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  /** The server's public base URL, as given to the auth provider. */
  readonly baseUrl: string;
  readonly auth: AuthProvider;
  /** How many times each tool's handler ran. */
  readonly calls: Record<ToolName, number>;
  close(): Promise<void>;
}

/**
 * A FastMCP server over Streamable HTTP on 127.0.0.1 with one tool per kind of guard. The auth
 * provider must know the server's URL before it starts, so a free port is found first (and the
 * start retried should another process take it in between).
 */
export async function startGuardedServer(makeAuth: (baseUrl: string) => AuthProvider): Promise<GuardedServer> {
  for (let attempt = 1; ; attempt++) {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    const auth = makeAuth(baseUrl);
    const calls: Record<ToolName, number> = { read_notes: 0, write_note: 0, admin_report: 0, whoami: 0 };
    const mcp = guardedServer(auth, calls);
    try {
      const running = await mcp.run({ transport: "http", port: Number(new URL(baseUrl).port), handleSignals: false, banner: false });
      return { url: running.url!, baseUrl, auth, calls, close: () => mcp.close() };
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt === 3) throw error;
    }
  }
}

function guardedServer(auth: AuthProvider, calls: Record<ToolName, number>): FastMCP {
  const mcp = new FastMCP({ name: "guarded-notes", auth });
  mcp.tool({
    name: TOOLS.read,
    description: "Reads the notes",
    execute: () => {
      calls.read_notes++;
      return "three notes";
    },
  });
  mcp.tool({
    name: TOOLS.write,
    description: "Writes a note",
    parameters: z.object({ text: z.string() }),
    scopes: ["mcp:write"],
    execute: ({ text }) => {
      calls.write_note++;
      return `saved: ${text}`;
    },
  });
  mcp.tool({
    name: TOOLS.admin,
    description: "Administrators only",
    auth: requireScopes("admin"),
    execute: () => {
      calls.admin_report++;
      return "all is well";
    },
  });
  mcp.tool({
    name: TOOLS.whoami,
    description: "What the server knows of the caller",
    execute: (_args, ctx) => {
      calls.whoami++;
      const token = ctx.auth;
      const whoami: WhoAmI = {
        claims: { ...token?.claims },
        scopes: [...(token?.scopes ?? [])],
        clientId: token?.clientId,
        subject: token?.subject,
        sameToken: token !== undefined && getAccessToken()?.token === token.token,
      };
      return JSON.stringify(whoami);
    },
  });
  return mcp;
}

