import { randomBytes } from "node:crypto";
import type {
  OAuthClientInformationContext,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import type { SavedTokens, ServerTokenStore } from "./token-store.js";

/** Who this client is at authorization servers. */
export interface ClientIdentity {
  clientName: string;
  /** A pre-registered client. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** A Client ID Metadata Document URL, used where the server supports them. */
  clientMetadataUrl?: string | undefined;
}

/** One authorization request in flight: what the callback must match. */
export interface PendingAuthorization {
  url: URL;
  state: string;
}

/**
 * The SDK's OAuthClientProvider over our storage: the SDK's `auth()` does discovery, issuer
 * checks, registration, PKCE, RFC 8707 `resource`, the code exchange and refresh through it.
 * It never opens anything itself: `redirectToAuthorization` only records the URL, and the OAuth
 * flow (oauth.ts) takes the user there and waits for the callback.
 */
export class StoredClientProvider implements OAuthClientProvider {
  /** Set by the flow while a callback server listens. */
  redirectUri: string | undefined;
  /** The scope of the authorization request in flight, kept with the tokens it produces. */
  requestedScope: string | undefined;
  pending: PendingAuthorization | undefined;
  private verifier: string | undefined;
  private lastState: string | undefined;

  constructor(private readonly storage: ServerTokenStore, private readonly identity: ClientIdentity) {}

  get redirectUrl(): string | undefined {
    return this.redirectUri;
  }

  get clientMetadataUrl(): string | undefined {
    return this.identity.clientMetadataUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    const confidential = this.identity.clientSecret !== undefined;
    return {
      client_name: this.identity.clientName,
      redirect_uris: this.redirectUri ? [this.redirectUri] : [],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: confidential ? "client_secret_basic" : "none",
      application_type: "native",
    };
  }

  state(): string {
    this.lastState = randomBytes(24).toString("base64url");
    return this.lastState;
  }

  /**
   * The client for `issuer`: a Client ID Metadata Document URL where the server supports it,
   * else pre-registered credentials, else what dynamic registration saved (unless expired).
   */
  async clientInformation(ctx?: OAuthClientInformationContext): Promise<StoredOAuthClientInformation | undefined> {
    const record = await this.storage.read();
    const supportsDocuments = record.discovery?.authorizationServerMetadata?.client_id_metadata_document_supported === true;
    if (this.identity.clientMetadataUrl && supportsDocuments) return { client_id: this.identity.clientMetadataUrl, ...(ctx ? { issuer: ctx.issuer } : {}) };
    if (this.identity.clientId) {
      return {
        client_id: this.identity.clientId,
        ...(this.identity.clientSecret !== undefined ? { client_secret: this.identity.clientSecret } : {}),
        ...(ctx ? { issuer: ctx.issuer } : {}),
      };
    }
    const saved = ctx ? record.clients[ctx.issuer] : undefined;
    if (!saved) return undefined;
    const expiresAt = (saved as { client_secret_expires_at?: number }).client_secret_expires_at;
    if (expiresAt !== undefined && expiresAt > 0 && expiresAt * 1000 <= Date.now()) return undefined;
    return saved;
  }

  async saveClientInformation(client: StoredOAuthClientInformation, ctx?: OAuthClientInformationContext): Promise<void> {
    // A metadata document URL or pre-registered credentials are configuration, not state.
    if (client.client_id === this.identity.clientMetadataUrl || client.client_id === this.identity.clientId) return;
    const issuer = ctx?.issuer ?? client.issuer;
    if (!issuer) return;
    await this.storage.update((record) => { record.clients[issuer] = client; });
  }

  /** The tokens for `issuer`; without one (the transport asking what to send), the latest saved. */
  async tokens(ctx?: OAuthClientInformationContext): Promise<StoredOAuthTokens | undefined> {
    const record = await this.storage.read();
    const issuer = ctx?.issuer ?? record.latestIssuer;
    return issuer ? record.tokens[issuer] : undefined;
  }

  async saveTokens(tokens: StoredOAuthTokens, ctx?: OAuthClientInformationContext): Promise<void> {
    const issuer = ctx?.issuer ?? tokens.issuer;
    if (!issuer) return;
    await this.storage.update((record) => {
      const previous = record.tokens[issuer];
      const saved: SavedTokens = { ...tokens };
      if (tokens.expires_in !== undefined) saved.expires_at = Date.now() + tokens.expires_in * 1000;
      // A refresh answer may omit the scope and the refresh token: keep what still holds.
      saved.requested_scope = this.requestedScope ?? previous?.requested_scope;
      if (saved.scope === undefined && previous?.scope !== undefined && !this.requestedScope) saved.scope = previous.scope;
      if (saved.refresh_token === undefined && previous?.refresh_token !== undefined && !this.requestedScope) saved.refresh_token = previous.refresh_token;
      record.tokens[issuer] = saved;
      record.latestIssuer = issuer;
    });
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.pending = { url: authorizationUrl, state: this.lastState ?? authorizationUrl.searchParams.get("state") ?? "" };
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error("no PKCE code verifier: no authorization was started");
    return this.verifier;
  }

  async saveDiscoveryState(state: OAuthDiscoveryState): Promise<void> {
    await this.storage.update((record) => { record.discovery = state; });
  }

  async discoveryState(): Promise<OAuthDiscoveryState | undefined> {
    return (await this.storage.read()).discovery;
  }

  async invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): Promise<void> {
    if (scope === "verifier") {
      this.verifier = undefined;
      return;
    }
    await this.storage.update((record) => {
      if (scope === "all" || scope === "client") record.clients = {};
      if (scope === "all" || scope === "tokens") {
        record.tokens = {};
        delete record.latestIssuer;
      }
      if (scope === "all" || scope === "discovery") delete record.discovery;
    });
  }
}
