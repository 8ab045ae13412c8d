/**
 * Client ID Metadata Documents (CIMD, MCP 2025-11-25): a client whose `client_id` is an https URL
 * is described by the JSON document at that URL. The fetcher gets it through {@link safeFetch},
 * checks it (same rules as dynamic registration, public clients only) and caches it as HTTP
 * caching headers say ({@link DocumentCachePolicy}: a private cache, within our bounds).
 *
 * A document whose lifetime has passed is only used again once the server confirms it (200 or
 * 304): when the refetch fails, `get` fails too instead of serving the stale copy, so that a
 * client its owner withdrew (or a server that now answers with an error) stops working.
 *
 * A failure is kept too, for `failureCacheSeconds`: a URL that cannot be fetched or used (one the
 * SSRF guard refuses, say) costs one attempt and one report per period, however often a client
 * presents it.
 */
import { parseRegistrationRequest } from "./registration.js";
import { OAuthError } from "../errors.js";
import { DocumentCachePolicy, type CacheBounds, type Validators } from "./http-cache.js";
import { DEFAULT_TIMEOUT_MS, safeFetch, SsrfError, type SafeFetchResponse } from "./ssrf.js";
import type { OAuthClientInformation } from "../types.js";
import { hasDotSegment, hasOnlyUriCharacters, hasWhitespaceOrControl, quoteUri, splitAuthority, splitUri } from "./uri-syntax.js";
import { FastMCPError } from "../../../errors.js";

export type ClientMetadataErrorReason =
  | "invalid_client_id"
  | "fetch_failed"
  | "not_json"
  | "invalid_document"
  | "client_id_mismatch"
  | "unsupported_auth_method"
  | "invalid_redirect_uri";

/** A Client ID Metadata Document that could not be fetched or used; the message says why. */
export class ClientMetadataError extends FastMCPError {
  override name = "ClientMetadataError";
  constructor(
    readonly reason: ClientMetadataErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ClientMetadataDocumentFetcherOptions {
  /** Largest document accepted, in bytes (default 5,120). */
  maxBytes?: number;
  /** Budget for one fetch (default 5,000 ms). */
  timeoutMs?: number;
  /** Documents kept, least recently used dropped first (default 1,000); as many failures are kept besides. */
  cacheSize?: number;
  /** Lifetime of a document whose response states none (no `max-age`, no `Expires`; default 3,600 s). */
  defaultCacheSeconds?: number;
  /** Longest lifetime honoured, whatever the headers ask (default 86,400 s). */
  maxCacheSeconds?: number;
  /**
   * How long a failure to fetch or use a document is kept (default 60 s; 0 keeps none): a `get`
   * of that URL until then throws the same error again without fetching.
   */
  failureCacheSeconds?: number;
  /**
   * Where failures to fetch or use a document go (an OAuthProvider passes its `onError`): a URL's
   * failure is reported when it happens, which is at most once per `failureCacheSeconds`; when
   * the URL fails again after that, the report says how many gets the kept failure answered
   * meanwhile. Not called for a `clientId` that is not a document URL (nothing is fetched).
   * Default: nowhere.
   */
  report?: ((error: unknown) => void) | undefined;
  /** Relaxation for development and tests: fetch from loopback and private addresses. */
  allowPrivateAddresses?: boolean;
  /** Relaxation for development and tests: accept http client IDs. */
  allowHttp?: boolean;
  /** Extra certificate authority to trust (a test server's self-signed certificate). */
  ca?: string | Buffer;
}

const MAX_CLIENT_ID_LENGTH = 2000;

/**
 * Whether `clientId` has the shape of a metadata document URL: https (or http with the `allowHttp`
 * relaxation), a host, a path other than `/`, no fragment, no credentials and no `.`/`..`
 * segments. (A query is allowed.)
 */
export function isClientMetadataDocumentUrl(clientId: string, options: { allowHttp?: boolean } = {}): boolean {
  return urlShapeProblem(clientId, options.allowHttp ?? false) === undefined;
}

interface CachedFailure {
  readonly error: unknown;
  /** Milliseconds since the epoch until which the failure is rethrown without fetching. */
  readonly until: number;
  /** Gets it answered since it was reported. */
  repeats: number;
}

interface CachedDocument {
  readonly client: OAuthClientInformation;
  readonly policy: DocumentCachePolicy;
  /** Milliseconds since the epoch after which the document must be revalidated. */
  readonly freshUntil: number;
}

/** Fetches, validates and caches Client ID Metadata Documents. */
export class ClientMetadataDocumentFetcher {
  private readonly cache: LeastRecentlyUsed<CachedDocument>;
  private readonly failures: LeastRecentlyUsed<CachedFailure>;
  private readonly inFlight = new Map<string, Promise<OAuthClientInformation>>();
  private readonly cacheBounds: CacheBounds;
  private readonly options: Required<Omit<ClientMetadataDocumentFetcherOptions, "ca" | "report">> & Pick<ClientMetadataDocumentFetcherOptions, "ca" | "report">;

  constructor(options: ClientMetadataDocumentFetcherOptions = {}) {
    this.options = {
      maxBytes: options.maxBytes ?? 5120,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      cacheSize: options.cacheSize ?? 1000,
      defaultCacheSeconds: options.defaultCacheSeconds ?? 3600,
      maxCacheSeconds: options.maxCacheSeconds ?? 86_400,
      failureCacheSeconds: options.failureCacheSeconds ?? 60,
      report: options.report,
      allowPrivateAddresses: options.allowPrivateAddresses ?? false,
      allowHttp: options.allowHttp ?? false,
      ca: options.ca,
    };
    this.cache = new LeastRecentlyUsed(this.options.cacheSize);
    this.failures = new LeastRecentlyUsed(this.options.cacheSize);
    this.cacheBounds = { defaultSeconds: this.options.defaultCacheSeconds, maxSeconds: this.options.maxCacheSeconds };
  }

  /**
   * The client `clientId` (a metadata document URL) describes: its metadata with
   * `token_endpoint_auth_method: "none"` and `metadata_document: true`. Concurrent calls for one
   * URL share one fetch. Throws {@link ClientMetadataError} (a kept failure: the same one again).
   */
  async get(clientId: string): Promise<OAuthClientInformation> {
    const shapeProblem = urlShapeProblem(clientId, this.options.allowHttp);
    if (shapeProblem !== undefined) throw new ClientMetadataError("invalid_client_id", `client_id ${quoteUri(clientId)} is not a metadata document URL: ${shapeProblem}`);
    const cached = this.cache.get(clientId);
    if (cached && Date.now() < cached.freshUntil) return structuredClone(cached.client);
    const failed = this.failures.get(clientId);
    if (failed && Date.now() < failed.until) {
      failed.repeats += 1;
      throw failed.error;
    }
    let pending = this.inFlight.get(clientId);
    if (!pending) {
      pending = this.refresh(clientId, cached).finally(() => this.inFlight.delete(clientId));
      this.inFlight.set(clientId, pending);
    }
    return structuredClone(await pending);
  }

  private async refresh(clientId: string, cached: CachedDocument | undefined): Promise<OAuthClientInformation> {
    try {
      const client = await this.refetch(clientId, cached);
      this.failures.delete(clientId);
      return client;
    } catch (error) {
      this.cache.delete(clientId);
      this.keepFailure(clientId, error);
      throw error;
    }
  }

  private async refetch(clientId: string, cached: CachedDocument | undefined): Promise<OAuthClientInformation> {
    const response = await this.fetch(clientId, cached?.policy.validators());
    if (response.status === 304 && cached) {
      this.store(clientId, cached.client, cached.policy.revalidated(response));
      return cached.client;
    }
    const client = documentClient(clientId, response.body);
    this.store(clientId, client, DocumentCachePolicy.of(clientId, response, this.cacheBounds));
    return client;
  }

  /** Keeps `error` for `failureCacheSeconds` and reports it, with the repeats of the failure it replaces. */
  private keepFailure(clientId: string, error: unknown): void {
    const unreported = this.failures.get(clientId)?.repeats ?? 0;
    this.failures.delete(clientId);
    if (this.options.failureCacheSeconds > 0) this.failures.set(clientId, { error, until: Date.now() + this.options.failureCacheSeconds * 1000, repeats: 0 });
    try {
      this.options.report?.(unreported === 0 ? error : withRepeats(error, unreported));
    } catch {
      // A reporter that fails must not change what the caller is told.
    }
  }

  private async fetch(clientId: string, validators: Validators | undefined): Promise<SafeFetchResponse> {
    try {
      return await safeFetch(clientId, {
        maxBytes: this.options.maxBytes,
        timeoutMs: this.options.timeoutMs,
        ifNoneMatch: validators?.ifNoneMatch,
        ifModifiedSince: validators?.ifModifiedSince,
        allowPrivateAddresses: this.options.allowPrivateAddresses,
        allowHttp: this.options.allowHttp,
        ca: this.options.ca,
      });
    } catch (error) {
      if (error instanceof SsrfError) throw new ClientMetadataError("fetch_failed", `could not fetch the metadata document ${quoteUri(clientId)}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  private store(clientId: string, client: OAuthClientInformation, policy: DocumentCachePolicy): void {
    const lifetime = policy.freshnessSeconds();
    const { ifNoneMatch, ifModifiedSince } = policy.validators();
    // Nothing to keep: not allowed to, or stale at once with nothing to revalidate it by.
    if (lifetime === undefined || (lifetime === 0 && ifNoneMatch === undefined && ifModifiedSince === undefined)) {
      this.cache.delete(clientId);
      return;
    }
    this.cache.set(clientId, { client, policy, freshUntil: Date.now() + lifetime * 1000 });
  }
}

/** Entries by URL, at most `limit`: a get or set makes an entry the most recently used, and the least recently used goes first. */
class LeastRecentlyUsed<Entry> {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limit: number) {}

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.set(key, entry);
    return entry;
  }

  set(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.limit) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** `error` as reported again after `repeats` gets that the kept copy answered unreported. */
function withRepeats(error: unknown, repeats: number): unknown {
  const note = `(and ${repeats} more ${repeats === 1 ? "time" : "times"} since it was last reported, answered from the failure cache)`;
  if (error instanceof ClientMetadataError) return new ClientMetadataError(error.reason, `${error.message} ${note}`, { cause: error.cause });
  return new Error(`${error instanceof Error ? error.message : String(error)} ${note}`, { cause: error });
}

function urlShapeProblem(clientId: string, allowHttp: boolean): string | undefined {
  if (clientId.length > MAX_CLIENT_ID_LENGTH) return `longer than ${MAX_CLIENT_ID_LENGTH} characters`;
  if (hasWhitespaceOrControl(clientId) || !hasOnlyUriCharacters(clientId)) return "contains characters a URL cannot contain";
  const components = splitUri(clientId);
  const scheme = components.scheme?.toLowerCase();
  if (scheme !== "https" && !(allowHttp && scheme === "http")) return "must use https";
  if (components.authority === undefined) return "must name a host";
  const authority = splitAuthority(components.authority);
  if (authority.userinfo !== undefined) return "must not contain credentials";
  if (!authority.host) return "must name a host";
  if (components.path === "" || components.path === "/") return "must have a path (the document cannot be the site root)";
  if (hasDotSegment(components.path)) return "must not contain . or .. path segments";
  if (components.fragment !== undefined) return "must not contain a fragment";
  try {
    new URL(clientId);
  } catch {
    return "is not a valid URL";
  }
  return undefined;
}

/** The client a fetched document describes, or a {@link ClientMetadataError} saying what is wrong with it. */
function documentClient(clientId: string, body: Buffer): OAuthClientInformation {
  const document = parseJsonObject(clientId, body);
  const invalid = (reason: ClientMetadataErrorReason, problem: string) => new ClientMetadataError(reason, `metadata document ${quoteUri(clientId)}: ${problem}`);
  if (typeof document.client_id !== "string") throw invalid("invalid_document", "client_id is required");
  if (document.client_id !== clientId) throw invalid("client_id_mismatch", `its client_id ${quoteUri(document.client_id)} is not the document's URL (they must be identical)`);
  if (typeof document.client_name !== "string" || document.client_name === "") throw invalid("invalid_document", "client_name is required");
  if (document.redirect_uris === undefined) throw invalid("invalid_document", "redirect_uris is required");
  const authMethodProblem = unsupportedAuthMethod(document.token_endpoint_auth_method);
  if (authMethodProblem) throw invalid("unsupported_auth_method", authMethodProblem);
  try {
    const metadata = parseRegistrationRequest({ ...document, token_endpoint_auth_method: "none" }, { allowedAuthMethods: ["none"] });
    return { ...metadata, client_id: clientId, token_endpoint_auth_method: "none", metadata_document: true };
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    throw invalid(error.error === "invalid_redirect_uri" ? "invalid_redirect_uri" : "invalid_document", error.description);
  }
}

function parseJsonObject(clientId: string, body: Buffer): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new ClientMetadataError("not_json", `metadata document ${quoteUri(clientId)} is not JSON`);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new ClientMetadataError("invalid_document", `metadata document ${quoteUri(clientId)} is not a JSON object`);
  }
  return document as Record<string, unknown>;
}

/** Only public clients (`none`) can be described by a document anyone can read. */
function unsupportedAuthMethod(method: unknown): string | undefined {
  if (method === undefined || method === null || method === "none") return undefined;
  if (method === "client_secret_basic" || method === "client_secret_post" || method === "client_secret_jwt") {
    return `token_endpoint_auth_method ${method} needs a shared secret, which a metadata document client cannot have; use none`;
  }
  if (method === "private_key_jwt") return "token_endpoint_auth_method private_key_jwt is not supported by this server; use none";
  return `token_endpoint_auth_method ${JSON.stringify(method)} is not supported; use none`;
}
