import { randomBytes } from "node:crypto";
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type CallToolResult,
  type ListToolsResult,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  type VersionNegotiationOptions,
} from "@modelcontextprotocol/client";
import { UserAgent, type AuthorizationOutcome } from "./user-agent.js";

/** One trip through the authorization server, as the MCP client asked for it. */
export interface AuthorizationRecord {
  /** The scopes the client requested. */
  scopes: string[];
  /** The RFC 8707 resource it named. */
  resource: string | null;
  /** The interaction prompts the user agent answered (`login`, `consent`). */
  prompts: string[];
}

/** An HTTP exchange with the MCP endpoint, as the transport saw it. */
export interface McpExchange {
  method: string;
  status: number;
  /** The JSON-RPC method posted, when the body was a single request or notification. */
  rpcMethod: string | undefined;
  wwwAuthenticate: string | null;
}

export interface OAuthMcpClientOptions {
  /** The user agent that logs in; one per client keeps the identity provider's session cookies. */
  userAgent?: UserAgent;
  /** Where the authorization server sends the browser back. Nothing listens there: the user agent stops. */
  redirectUri?: string;
  /** Protocol negotiation of the SDK client. Default: the 2025 `initialize` handshake. */
  versionNegotiation?: VersionNegotiationOptions;
}

/**
 * OAuthClientProvider of the official SDK, held in memory: client registration, tokens, PKCE
 * verifier and discovery state; its "redirect" runs a scripted user agent and keeps the callback.
 */
class InMemoryClientProvider implements OAuthClientProvider {
  readonly authorizations: AuthorizationRecord[] = [];
  private client: StoredOAuthClientInformation | undefined;
  private stored: StoredOAuthTokens | undefined;
  private verifier: string | undefined;
  private discovery: OAuthDiscoveryState | undefined;
  private expectedState: string | undefined;
  private callback: AuthorizationOutcome | undefined;

  constructor(private readonly userAgent: UserAgent, readonly redirectUrl: string) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "fastmcp-ts e2e client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  state(): string {
    this.expectedState = randomBytes(16).toString("base64url");
    return this.expectedState;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.client;
  }

  saveClientInformation(client: StoredOAuthClientInformation): void {
    this.client = client;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.stored;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.stored = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error("no PKCE verifier saved");
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    const outcome = await this.userAgent.authorize(url, this.redirectUrl);
    this.authorizations.push({
      scopes: (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean),
      resource: url.searchParams.get("resource"),
      prompts: outcome.prompts,
    });
    this.callback = outcome;
  }

  /** The callback of the last authorization, checked (state, error) and forgotten. */
  takeCallback(): URLSearchParams {
    const outcome = this.callback;
    this.callback = undefined;
    if (!outcome) throw new Error("the SDK asked for authorization, but no authorization ran");
    const { params } = outcome;
    if (params.get("state") !== this.expectedState) throw new Error("the authorization response's state does not match the request's");
    if (params.has("error")) throw new Error(`authorization failed: ${params.get("error")} ${params.get("error_description") ?? ""}`);
    return params;
  }
}

/**
 * The official MCP client (`@modelcontextprotocol/client`) logging in through OAuth: it discovers
 * the authorization server from the 401 challenge, registers, sends the user agent to log in, and
 * reconnects with its token. Calls that meet a 403 `insufficient_scope` are left to the SDK's
 * step-up (a new authorization for the union of scopes); the harness finishes it and retries once.
 */
export class OAuthMcpClient {
  /** Exchanges with the MCP endpoint. */
  readonly exchanges: McpExchange[] = [];
  /** Every URL the transport fetched (MCP endpoint, discovery, registration, token), in order. */
  readonly fetched: string[] = [];
  private readonly provider: InMemoryClientProvider;
  private client: Client | undefined;
  private transport: StreamableHTTPClientTransport | undefined;
  private readonly versionNegotiation: VersionNegotiationOptions | undefined;

  constructor(private readonly serverUrl: string, options: OAuthMcpClientOptions = {}) {
    this.provider = new InMemoryClientProvider(options.userAgent ?? new UserAgent(), options.redirectUri ?? "http://127.0.0.1/callback");
    this.versionNegotiation = options.versionNegotiation;
  }

  /** Every authorization the SDK started, in order. */
  get authorizations(): readonly AuthorizationRecord[] {
    return this.provider.authorizations;
  }

  /** The tokens the SDK holds now. */
  get tokens(): StoredOAuthTokens | undefined {
    return this.provider.tokens();
  }

  /** Connects, logging in first when the server asks for a token. */
  async connect(): Promise<this> {
    const first = this.newConnection();
    try {
      await first.client.connect(first.transport);
      this.adopt(first);
      return this;
    } catch (error) {
      await first.client.close();
      if (!(error instanceof UnauthorizedError)) throw error;
      await first.transport.finishAuth(this.provider.takeCallback());
    }
    const second = this.newConnection();
    await second.client.connect(second.transport);
    this.adopt(second);
    return this;
  }

  async listTools(): Promise<ListToolsResult> {
    return this.connected().listTools();
  }

  /** Calls a tool; when the SDK re-authorized on a 403 (step-up), finishes the login and retries once. */
  async callTool(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    const client = this.connected();
    try {
      return await client.callTool({ name, arguments: args });
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      await this.transport!.finishAuth(this.provider.takeCallback());
      return client.callTool({ name, arguments: args });
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private newConnection(): { client: Client; transport: StreamableHTTPClientTransport } {
    const transport = new StreamableHTTPClientTransport(new URL(this.serverUrl), { authProvider: this.provider, fetch: this.recordingFetch });
    const options = this.versionNegotiation ? { versionNegotiation: this.versionNegotiation } : {};
    return { client: new Client({ name: "fastmcp-ts-e2e", version: "1.0.0" }, options), transport };
  }

  private adopt(connection: { client: Client; transport: StreamableHTTPClientTransport }): void {
    this.client = connection.client;
    this.transport = connection.transport;
  }

  private connected(): Client {
    if (!this.client) throw new Error("connect() first");
    return this.client;
  }

  /** The transport's fetch, noting every URL and each exchange with the MCP endpoint. */
  private readonly recordingFetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    this.fetched.push(String(input));
    const response = await fetch(input, init);
    if (String(input) === this.serverUrl) {
      this.exchanges.push({
        method: init?.method ?? "GET",
        status: response.status,
        rpcMethod: rpcMethodOf(init?.body),
        wwwAuthenticate: response.headers.get("www-authenticate"),
      });
    }
    return response;
  };
}

function rpcMethodOf(body: RequestInit["body"] | undefined): string | undefined {
  if (typeof body !== "string") return undefined;
  try {
    const message = JSON.parse(body) as { method?: unknown };
    return typeof message.method === "string" ? message.method : undefined;
  } catch {
    return undefined;
  }
}
