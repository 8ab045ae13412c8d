/**
 * Dynamic client registration (RFC 7591) and client authentication at the token and revocation
 * endpoints (RFC 6749 §2.3.1). The registration endpoint caps the request body (16 KiB is plenty:
 * twenty 2,000-character redirect URIs fit) before it calls {@link parseRegistrationRequest}.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { OAuthError } from "../errors.js";
import { checkRedirectUriForRegistration, isLoopbackHost, MAX_REDIRECT_URI_LENGTH } from "./redirect-uri.js";
import type { OAuthClientInformation, OAuthClientMetadata, TokenEndpointAuthMethod } from "../types.js";
import { hasWhitespaceOrControl, quoteUri } from "./uri-syntax.js";

/** What a server lets clients register. */
export interface RegistrationPolicy {
  /** When given, every scope a client registers must be one of these. */
  validScopes?: readonly string[];
  /** The scope registered for a client that names none. */
  defaultScopes?: readonly string[];
  /** Methods a client may choose (default: all three). */
  allowedAuthMethods?: readonly TokenEndpointAuthMethod[];
}

/** A new client: the record to store (secret hashed) and the RFC 7591 §3.2.1 response (secret in clear, once). */
export interface NewClient {
  stored: OAuthClientInformation;
  response: Record<string, unknown>;
}

/** Client credentials found in a token or revocation request. */
export interface PresentedClientCredentials {
  clientId?: string;
  method: TokenEndpointAuthMethod;
  secret?: string;
}

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ["none", "client_secret_basic", "client_secret_post"];
const GRANT_TYPES = ["authorization_code", "refresh_token"];
const MAX_REDIRECT_URIS = 20;
const MAX_URL_LENGTH = 2000;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** JSON clients often send `null` for a field they do not set; it means the same as leaving it out. */
const nullMeansAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === null ? undefined : value), schema.optional());
/** Some clients send `""` for URLs they do not have (see modelcontextprotocol/python-sdk#1665). */
const emptyMeansAbsent = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null || value === "" ? undefined : value), schema.optional());

/** Text shown to people (consent page, logs): line breaks and other control characters could forge lines. */
const displayText = (max: number) => z.string().min(1).max(max).refine((value) => !CONTROL_CHARACTERS.test(value), "must not contain control characters");
const webUrl = emptyMeansAbsent(
  z.string().max(MAX_URL_LENGTH).refine(isWebUrl, "must be an absolute https URL (http only to a loopback host), without credentials"),
);

const registrationRequestSchema = z.object({
  redirect_uris: z
    .array(z.string().max(MAX_REDIRECT_URI_LENGTH), { error: (issue) => (issue.input === undefined ? "is required" : undefined) })
    .min(1)
    .max(MAX_REDIRECT_URIS),
  token_endpoint_auth_method: nullMeansAbsent(z.string()),
  grant_types: nullMeansAbsent(z.array(z.string()).max(10)),
  response_types: nullMeansAbsent(z.array(z.string()).max(10)),
  client_name: emptyMeansAbsent(displayText(200)),
  client_uri: webUrl,
  logo_uri: webUrl,
  tos_uri: webUrl,
  policy_uri: webUrl,
  scope: nullMeansAbsent(z.string().max(2000)),
  contacts: nullMeansAbsent(z.array(displayText(320)).max(10)),
  software_id: emptyMeansAbsent(displayText(200)),
  software_version: emptyMeansAbsent(displayText(100)),
  application_type: nullMeansAbsent(z.enum(["native", "web"])),
});

/**
 * Validates an RFC 7591 registration request body and returns the metadata to register, with
 * defaults filled in (`token_endpoint_auth_method: client_secret_basic` as RFC 7591 says — MCP
 * clients send `none` explicitly —, `grant_types: [authorization_code]`, `response_types: [code]`,
 * `application_type: native`, `scope`: `defaultScopes`). Unknown fields are dropped (RFC 7591 §2).
 * Throws `invalid_redirect_uri` for a refused redirect URI and `invalid_client_metadata` for any
 * other field, naming it.
 */
export function parseRegistrationRequest(body: unknown, options: RegistrationPolicy = {}): OAuthClientMetadata {
  const parsed = registrationRequestSchema.safeParse(body);
  if (!parsed.success) throw schemaError(parsed.error);
  const request = parsed.data;
  const applicationType = request.application_type ?? "native";
  checkRedirectUris(request.redirect_uris, applicationType);
  const grantTypes = checkGrantTypes(request.grant_types ?? ["authorization_code"]);
  const responseTypes = checkResponseTypes(request.response_types ?? ["code"]);
  return withoutUndefined({
    redirect_uris: request.redirect_uris,
    token_endpoint_auth_method: checkAuthMethod(request.token_endpoint_auth_method ?? "client_secret_basic", options.allowedAuthMethods ?? AUTH_METHODS),
    grant_types: grantTypes,
    response_types: responseTypes,
    client_name: request.client_name,
    client_uri: request.client_uri,
    logo_uri: request.logo_uri,
    scope: checkScope(request.scope, options),
    contacts: request.contacts,
    tos_uri: request.tos_uri,
    policy_uri: request.policy_uri,
    software_id: request.software_id,
    software_version: request.software_version,
    application_type: applicationType,
  });
}

/**
 * A client record for registered `metadata`: a random `client_id` (256 bits, base64url) and, for a
 * confidential client (`client_secret_basic`/`client_secret_post`), a random secret that never
 * expires. `stored` keeps only the secret's SHA-256; `response` carries it in clear, to return once.
 */
export function newClientInformation(metadata: OAuthClientMetadata, now: number = Date.now()): NewClient {
  const identity = { client_id: randomToken(), client_id_issued_at: Math.floor(now / 1000) };
  if ((metadata.token_endpoint_auth_method ?? "client_secret_basic") === "none") {
    const client = { ...metadata, ...identity };
    return { stored: client, response: { ...client } };
  }
  const secret = randomToken();
  return {
    stored: { ...metadata, ...identity, client_secret_hash: sha256Hex(secret), client_secret_expires_at: 0 },
    response: { ...metadata, ...identity, client_secret: secret, client_secret_expires_at: 0 },
  };
}

/**
 * Whether `presented` credentials authenticate `client`: the method must be the one the client
 * registered (`client_secret_basic` when it registered none); `none` needs no secret; a secret is
 * compared in constant time with `client_secret_hash` (or a clear `client_secret` of a client
 * registered in code) and fails once `client_secret_expires_at` has passed.
 */
export function authenticateClient(
  client: OAuthClientInformation,
  presented: { method: TokenEndpointAuthMethod; secret?: string | undefined },
  now: number = Date.now(),
): boolean {
  const registeredMethod = client.token_endpoint_auth_method ?? "client_secret_basic";
  if (presented.method !== registeredMethod) return false;
  if (registeredMethod === "none") return true;
  if (!presented.secret) return false;
  const expiresAt = client.client_secret_expires_at ?? 0;
  if (expiresAt > 0 && expiresAt * 1000 <= now) return false;
  const expected = expectedSecretDigest(client);
  return expected !== undefined && timingSafeEqual(sha256(presented.secret), expected);
}

/**
 * The client credentials of a token or revocation request: HTTP Basic (RFC 6749 §2.3.1; the id and
 * secret inside are form-urlencoded), `client_id` + `client_secret` in the form, or `client_id`
 * alone (a public client). An empty secret counts as no secret. Returns an `invalid_request` error
 * when two methods are mixed or a parameter repeats, `invalid_client` for a malformed header.
 */
export function clientCredentialsFrom(headers: Headers | { authorization?: string }, form: URLSearchParams): PresentedClientCredentials | { error: OAuthError } {
  const repeated = ["client_id", "client_secret"].find((name) => form.getAll(name).length > 1);
  if (repeated) return { error: new OAuthError("invalid_request", `${repeated} must not be given more than once`) };
  const formId = form.get("client_id") || undefined;
  const formSecret = form.get("client_secret") || undefined;
  const authorization = authorizationHeader(headers);
  if (authorization === undefined) {
    if (formSecret !== undefined && formId === undefined) return { error: new OAuthError("invalid_request", "client_secret was given without client_id") };
    return withoutUndefined({ clientId: formId, method: formSecret === undefined ? "none" : "client_secret_post", secret: formSecret });
  }
  const basic = parseBasicCredentials(authorization);
  if ("error" in basic) return basic;
  if (formSecret !== undefined) return { error: new OAuthError("invalid_request", "use one client authentication method: credentials were given both in the Authorization header and in the form") };
  if (formId !== undefined && formId !== basic.clientId) return { error: new OAuthError("invalid_request", "client_id in the form does not match the client in the Authorization header") };
  if (basic.secret === "") return { clientId: basic.clientId, method: "none" };
  return { clientId: basic.clientId, method: "client_secret_basic", secret: basic.secret };
}

function checkRedirectUris(uris: readonly string[], applicationType: "native" | "web"): void {
  uris.forEach((uri, index) => {
    try {
      checkRedirectUriForRegistration(uri, applicationType);
    } catch (error) {
      if (error instanceof OAuthError) throw new OAuthError(error.error, `redirect_uris[${index}]: ${error.description}`);
      throw error;
    }
  });
}

function checkAuthMethod(method: string, allowed: readonly TokenEndpointAuthMethod[]): TokenEndpointAuthMethod {
  const supported = allowed.find((candidate) => candidate === method);
  if (supported === undefined) {
    throw invalidMetadata(`token_endpoint_auth_method ${JSON.stringify(method)} is not supported; use one of ${allowed.join(", ")}`);
  }
  return supported;
}

function checkGrantTypes(grantTypes: readonly string[]): string[] {
  const unsupported = grantTypes.filter((grant) => !GRANT_TYPES.includes(grant));
  if (unsupported.length > 0) throw invalidMetadata(`grant_types: ${unsupported.join(", ")} not supported; use authorization_code and optionally refresh_token`);
  if (!grantTypes.includes("authorization_code")) throw invalidMetadata("grant_types must include authorization_code");
  return [...new Set(grantTypes)];
}

/** Only the code flow exists here, so `code` is both required and the only value (RFC 7591 §2.1 consistency). */
function checkResponseTypes(responseTypes: readonly string[]): string[] {
  const unsupported = responseTypes.filter((type) => type !== "code");
  if (unsupported.length > 0) throw invalidMetadata(`response_types: ${unsupported.join(", ")} not supported; only code is`);
  if (!responseTypes.includes("code")) throw invalidMetadata("response_types must include code, which the authorization_code grant uses");
  return ["code"];
}

function checkScope(scope: string | undefined, policy: RegistrationPolicy): string | undefined {
  const scopes = [...new Set((scope ?? "").split(" ").filter(Boolean))];
  if (scopes.length === 0) return policy.defaultScopes?.length ? policy.defaultScopes.join(" ") : undefined;
  const malformed = scopes.filter((token) => !SCOPE_TOKEN.test(token));
  if (malformed.length > 0) throw invalidMetadata(`scope contains characters a scope cannot have (RFC 6749 §3.3): ${malformed.map((token) => JSON.stringify(token)).join(", ")}`);
  if (policy.validScopes) {
    const unknown = scopes.filter((token) => !policy.validScopes?.includes(token));
    if (unknown.length > 0) throw invalidMetadata(`scope: unknown scope(s) ${unknown.join(", ")}; this server supports ${policy.validScopes.join(", ") || "no scopes"}`);
  }
  return scopes.join(" ");
}

function isWebUrl(value: string): boolean {
  if (hasWhitespaceOrControl(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password || !url.hostname) return false;
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
}

function schemaError(error: z.ZodError): OAuthError {
  const issue = error.issues[0];
  if (issue === undefined || issue.path.length === 0) return invalidMetadata("the registration request must be a JSON object");
  return invalidMetadata(`${fieldName(issue.path)}: ${issue.message}`);
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === "number" ? `[${part}]` : `${index > 0 ? "." : ""}${String(part)}`)).join("");
}

function invalidMetadata(description: string): OAuthError {
  return new OAuthError("invalid_client_metadata", description);
}

function parseBasicCredentials(authorization: string): { clientId: string; secret: string } | { error: OAuthError } {
  const malformed = (why: string) => ({ error: new OAuthError("invalid_client", `malformed Basic credentials in the Authorization header: ${why}`) });
  const match = /^basic +([A-Za-z0-9+/]+={0,2})$/i.exec(authorization.trim());
  if (!match?.[1]) return /^basic\b/i.test(authorization.trim()) ? malformed("not base64") : malformed("only the Basic scheme is accepted");
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(match[1], "base64"));
  } catch {
    return malformed("not UTF-8");
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return malformed("expected client_id:client_secret");
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || secret === undefined) return malformed("bad percent-encoding");
  if (clientId === "") return malformed("empty client_id");
  return { clientId, secret };
}

/** application/x-www-form-urlencoded decoding (RFC 6749 Appendix B); undefined for bad `%` escapes. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}

function authorizationHeader(headers: Headers | { authorization?: string }): string | undefined {
  const value = typeof (headers as Headers).get === "function" ? (headers as Headers).get("authorization") : (headers as { authorization?: string }).authorization;
  return value === null || value === undefined || value === "" ? undefined : value;
}

function expectedSecretDigest(client: OAuthClientInformation): Buffer | undefined {
  if (client.client_secret_hash !== undefined) {
    return /^[0-9a-f]{64}$/i.test(client.client_secret_hash) ? Buffer.from(client.client_secret_hash, "hex") : undefined;
  }
  return client.client_secret ? sha256(client.client_secret) : undefined;
}

function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

// A private twin of the hashSecret helper planned in src/storage/encryption.ts; same digest (SHA-256, hex).
function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

function withoutUndefined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
