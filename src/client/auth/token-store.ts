import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from "@modelcontextprotocol/client";
import { FileStore } from "../../storage/file.js";
import type { KeyValueStore } from "../../storage/store.js";

/** Tokens as kept: the token response, the absolute expiry it implies, and the scope asked for. */
export interface SavedTokens extends StoredOAuthTokens {
  /** Epoch milliseconds; absent when the server gave no `expires_in`. */
  expires_at?: number;
  /** The scope of the authorization request that produced them (step-up adds to it). */
  requested_scope?: string;
}

/** Everything kept for one MCP server: per authorization server (issuer), its client and tokens. */
export interface ServerRecord {
  clients: Record<string, StoredOAuthClientInformation>;
  tokens: Record<string, SavedTokens>;
  /** The issuer whose tokens were saved last: the ones sent to the server. */
  latestIssuer?: string;
  discovery?: OAuthDiscoveryState;
}

/**
 * The OAuth state of one MCP server URL in a {@link KeyValueStore}: one record, keyed by the full
 * URL (path included, so two servers on one host never share tokens), holding a client
 * registration and tokens per authorization server, as MCP 2026-07-28 asks (credentials are bound
 * to the issuer that issued them).
 */
export class ServerTokenStore {
  private readonly key: string;

  constructor(private readonly store: KeyValueStore, serverUrl: string) {
    this.key = `mcp-oauth:${serverUrl}`;
  }

  async read(): Promise<ServerRecord> {
    return (await this.store.get<ServerRecord>(this.key)) ?? { clients: {}, tokens: {} };
  }

  async update(change: (record: ServerRecord) => void): Promise<void> {
    const record = await this.read();
    change(record);
    await this.store.set(this.key, record);
  }

  async clear(): Promise<void> {
    await this.store.delete(this.key);
  }
}

/**
 * Where the CLI keeps OAuth tokens: `$FASTMCP_CONFIG_DIR`, else `$XDG_CONFIG_HOME/fastmcp-ts/oauth`,
 * else `~/.config/fastmcp-ts/oauth` (a FileStore: directory 0700, files 0600).
 */
export function defaultTokenDirectory(): string {
  const explicit = process.env.FASTMCP_CONFIG_DIR;
  if (explicit && isAbsolute(explicit)) return join(explicit, "oauth");
  const xdg = process.env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? join(xdg, "fastmcp-ts") : join(homedir(), ".config", "fastmcp-ts");
  return join(base, "oauth");
}

export function defaultTokenStore(): KeyValueStore {
  return new FileStore({ directory: defaultTokenDirectory() });
}
