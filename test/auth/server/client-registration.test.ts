import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  authenticateClient,
  clientCredentialsFrom,
  newClientInformation,
  parseRegistrationRequest,
  type PresentedClientCredentials,
  type RegistrationPolicy,
} from "../../../src/auth/server/clients/registration.js";
import { OAuthError } from "../../../src/auth/server/errors.js";
import type { OAuthClientInformation, OAuthClientMetadata } from "../../../src/auth/server/types.js";

const REDIRECT = "http://127.0.0.1:33418/callback";
const minimal = { redirect_uris: [REDIRECT] };

function rejection(body: unknown, policy: RegistrationPolicy = {}): OAuthError {
  try {
    parseRegistrationRequest(body, policy);
  } catch (error) {
    if (error instanceof OAuthError) return error;
    throw error;
  }
  throw new Error("the request was accepted");
}

const sha256Hex = (value: string) => createHash("sha256").update(value).digest("hex");

describe("parseRegistrationRequest: defaults", () => {
  it("fills in RFC 7591 defaults for a minimal request", () => {
    expect(parseRegistrationRequest(minimal)).toEqual({
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      application_type: "native",
    });
  });

  it("keeps what an MCP client sends", () => {
    const request = {
      redirect_uris: [REDIRECT, "https://app.example.com/cb"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      client_name: "Claude Code (fastmcp)",
      client_uri: "https://app.example.com",
      logo_uri: "https://app.example.com/logo.png",
      tos_uri: "https://app.example.com/tos",
      policy_uri: "https://app.example.com/privacy",
      scope: "read write",
      contacts: ["ops@example.com"],
      software_id: "4NRB1-0XZABZI9E6-5SM3R",
      software_version: "2.1.0",
      application_type: "native",
    };
    expect(parseRegistrationRequest(request)).toEqual(request);
  });

  it("drops unknown fields instead of failing (RFC 7591 §2)", () => {
    const metadata = parseRegistrationRequest({ ...minimal, jwks_uri: "https://app.example.com/jwks", client_secret: "chosen-by-client", extra: { a: 1 } });
    expect(metadata).not.toHaveProperty("jwks_uri");
    expect(metadata).not.toHaveProperty("client_secret");
    expect(metadata).not.toHaveProperty("extra");
  });

  it("treats null optional fields as absent", () => {
    const metadata = parseRegistrationRequest({ ...minimal, client_name: null, scope: null, grant_types: null, contacts: null, token_endpoint_auth_method: null });
    expect(metadata).toEqual(parseRegistrationRequest(minimal));
  });

  it("treats empty-string URLs and names as absent (clients that serialise unset fields as \"\")", () => {
    const metadata = parseRegistrationRequest({ ...minimal, client_uri: "", logo_uri: "", tos_uri: "", policy_uri: "", client_name: "" });
    expect(metadata).toEqual(parseRegistrationRequest(minimal));
  });

  it("uses the policy's default scopes when the request names none", () => {
    expect(parseRegistrationRequest(minimal, { defaultScopes: ["read", "profile"] }).scope).toBe("read profile");
  });

  it("uses the default scopes for an empty scope string", () => {
    expect(parseRegistrationRequest({ ...minimal, scope: "" }, { defaultScopes: ["read"] }).scope).toBe("read");
  });

  it("registers no scope when neither the request nor the policy names one", () => {
    expect(parseRegistrationRequest(minimal)).not.toHaveProperty("scope");
  });

  it("normalises the scope: single spaces, no duplicates", () => {
    expect(parseRegistrationRequest({ ...minimal, scope: "read  write read" }).scope).toBe("read write");
  });

  it("deduplicates grant types", () => {
    expect(parseRegistrationRequest({ ...minimal, grant_types: ["authorization_code", "authorization_code", "refresh_token"] }).grant_types).toEqual([
      "authorization_code",
      "refresh_token",
    ]);
  });
});

describe("parseRegistrationRequest: accepted values", () => {
  it.each(["none", "client_secret_basic", "client_secret_post"])("token_endpoint_auth_method %s", (method) => {
    expect(parseRegistrationRequest({ ...minimal, token_endpoint_auth_method: method }).token_endpoint_auth_method).toBe(method);
  });

  it("scopes that are all in validScopes", () => {
    expect(parseRegistrationRequest({ ...minimal, scope: "read write" }, { validScopes: ["read", "write", "admin"] }).scope).toBe("read write");
  });

  it("a web client with https redirect URIs", () => {
    expect(parseRegistrationRequest({ redirect_uris: ["https://app.example.com/cb"], application_type: "web" }).application_type).toBe("web");
  });

  it("a native client with a private-use scheme", () => {
    expect(parseRegistrationRequest({ redirect_uris: ["cursor://anysphere.cursor-retrieval/oauth/callback"] }).redirect_uris).toEqual([
      "cursor://anysphere.cursor-retrieval/oauth/callback",
    ]);
  });

  it("http metadata URLs on a loopback host", () => {
    expect(parseRegistrationRequest({ ...minimal, client_uri: "http://localhost:3000/" }).client_uri).toBe("http://localhost:3000/");
  });

  it("twenty redirect URIs", () => {
    const uris = Array.from({ length: 20 }, (_, i) => `https://app.example.com/cb${i}`);
    expect(parseRegistrationRequest({ redirect_uris: uris }).redirect_uris).toHaveLength(20);
  });

  it("a client_name of 200 characters", () => {
    expect(parseRegistrationRequest({ ...minimal, client_name: "n".repeat(200) }).client_name).toHaveLength(200);
  });

  it("ten contacts", () => {
    expect(parseRegistrationRequest({ ...minimal, contacts: Array.from({ length: 10 }, (_, i) => `c${i}@example.com`) }).contacts).toHaveLength(10);
  });
});

describe("parseRegistrationRequest: invalid_client_metadata, naming the field", () => {
  it.each<[string, unknown, string, RegistrationPolicy?]>([
    ["a body that is not an object", "redirect_uris=x", "JSON object"],
    ["a null body", null, "JSON object"],
    ["an array body", [minimal], "JSON object"],
    ["missing redirect_uris", { client_name: "x" }, "redirect_uris"],
    ["redirect_uris not an array", { redirect_uris: REDIRECT }, "redirect_uris"],
    ["empty redirect_uris", { redirect_uris: [] }, "redirect_uris"],
    ["more than twenty redirect_uris", { redirect_uris: Array.from({ length: 21 }, (_, i) => `https://app.example.com/cb${i}`) }, "redirect_uris"],
    ["a redirect URI that is not a string", { redirect_uris: [42] }, "redirect_uris[0]"],
    ["an unknown token_endpoint_auth_method", { ...minimal, token_endpoint_auth_method: "private_key_jwt" }, "token_endpoint_auth_method"],
    ["an auth method the policy does not allow", { ...minimal, token_endpoint_auth_method: "client_secret_post" }, "token_endpoint_auth_method", { allowedAuthMethods: ["none"] }],
    ["the default auth method when the policy does not allow it", minimal, "client_secret_basic", { allowedAuthMethods: ["none"] }],
    ["a non-string auth method", { ...minimal, token_endpoint_auth_method: 1 }, "token_endpoint_auth_method"],
    ["an unsupported grant type", { ...minimal, grant_types: ["authorization_code", "client_credentials"] }, "grant_types: client_credentials"],
    ["the implicit grant", { ...minimal, grant_types: ["implicit"] }, "grant_types"],
    ["grant types without authorization_code", { ...minimal, grant_types: ["refresh_token"] }, "authorization_code"],
    ["empty grant types", { ...minimal, grant_types: [] }, "authorization_code"],
    ["grant_types not an array", { ...minimal, grant_types: "authorization_code" }, "grant_types"],
    ["an unsupported response type", { ...minimal, response_types: ["token"] }, "response_types: token"],
    ["a hybrid response type", { ...minimal, response_types: ["code id_token"] }, "response_types"],
    ["empty response types (inconsistent with authorization_code)", { ...minimal, response_types: [] }, "response_types must include code"],
    ["an unknown scope", { ...minimal, scope: "read admin" }, "unknown scope(s) admin", { validScopes: ["read", "write"] }],
    ["several unknown scopes", { ...minimal, scope: "x read y" }, "x, y", { validScopes: ["read"] }],
    ["a scope with a forbidden character", { ...minimal, scope: "read \"quoted\"" }, "scope"],
    ["a scope that is not a string", { ...minimal, scope: ["read"] }, "scope"],
    ["a client_name over 200 characters", { ...minimal, client_name: "n".repeat(201) }, "client_name"],
    ["a client_name with a line break", { ...minimal, client_name: "Legit\nApproved by admin" }, "client_name"],
    ["a client_name that is not a string", { ...minimal, client_name: 7 }, "client_name"],
    ["a javascript: client_uri", { ...minimal, client_uri: "javascript:alert(1)" }, "client_uri"],
    ["a data: logo_uri", { ...minimal, logo_uri: "data:image/svg+xml,<svg onload=alert(1)>" }, "logo_uri"],
    ["an http tos_uri to a remote host", { ...minimal, tos_uri: "http://app.example.com/tos" }, "tos_uri"],
    ["a relative policy_uri", { ...minimal, policy_uri: "/privacy" }, "policy_uri"],
    ["a client_uri with credentials", { ...minimal, client_uri: "https://user:pw@app.example.com/" }, "client_uri"],
    ["a client_uri with whitespace", { ...minimal, client_uri: " https://app.example.com/" }, "client_uri"],
    ["a client_uri over 2000 characters", { ...minimal, client_uri: `https://app.example.com/${"a".repeat(2000)}` }, "client_uri"],
    ["more than ten contacts", { ...minimal, contacts: Array.from({ length: 11 }, (_, i) => `c${i}@example.com`) }, "contacts"],
    ["a contact that is not a string", { ...minimal, contacts: [{ email: "a@b.c" }] }, "contacts[0]"],
    ["an empty contact", { ...minimal, contacts: [""] }, "contacts[0]"],
    ["contacts not an array", { ...minimal, contacts: "ops@example.com" }, "contacts"],
    ["a software_id over 200 characters", { ...minimal, software_id: "s".repeat(201) }, "software_id"],
    ["a software_version over 100 characters", { ...minimal, software_version: "1".repeat(101) }, "software_version"],
    ["an unknown application_type", { ...minimal, application_type: "desktop" }, "application_type"],
  ])("%s", (_name, body, field, policy) => {
    const error = rejection(body, policy);
    expect(error.error).toBe("invalid_client_metadata");
    expect(error.description).toContain(field);
  });
});

describe("parseRegistrationRequest: invalid_redirect_uri", () => {
  it.each([
    ["a fragment", "https://app.example.com/cb#x"],
    ["a javascript: URI", "javascript:alert(1)"],
    ["http to a remote host", "http://app.example.com/cb"],
    ["userinfo", "https://good@evil.example/cb"],
    ["a dot segment", "https://app.example.com/a/../cb"],
    ["a reserved query parameter", "https://app.example.com/cb?iss=x"],
  ])("%s", (_name, uri) => {
    const error = rejection({ redirect_uris: ["https://app.example.com/ok", uri] });
    expect(error.error).toBe("invalid_redirect_uri");
    expect(error.description).toContain("redirect_uris[1]");
  });

  it("checks redirect URIs as a web client's when application_type is web", () => {
    const error = rejection({ redirect_uris: [REDIRECT], application_type: "web" });
    expect(error.error).toBe("invalid_redirect_uri");
    expect(error.description).toContain("web application");
  });

  it("refuses a private-use scheme for a web client (native, the default, accepts it: see above)", () => {
    expect(rejection({ redirect_uris: ["com.example.app:/cb"], application_type: "web" }).error).toBe("invalid_redirect_uri");
  });
});

describe("newClientInformation", () => {
  const publicMetadata: OAuthClientMetadata = { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", client_name: "CLI" };
  const confidentialMetadata: OAuthClientMetadata = { redirect_uris: ["https://app.example.com/cb"], token_endpoint_auth_method: "client_secret_basic" };

  it("gives a public client an id and no secret", () => {
    const { stored, response } = newClientInformation(publicMetadata, 1_700_000_000_500);
    expect(stored).toEqual({ ...publicMetadata, client_id: stored.client_id, client_id_issued_at: 1_700_000_000 });
    expect(response).toEqual(stored);
    expect(response).not.toHaveProperty("client_secret");
    expect(response).not.toHaveProperty("client_secret_expires_at");
  });

  it("makes client ids with at least 256 bits of entropy, base64url", () => {
    const ids = new Set(Array.from({ length: 50 }, () => newClientInformation(publicMetadata).stored.client_id));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  });

  it("returns a confidential client's secret once, in the response, and stores only its SHA-256", () => {
    const { stored, response } = newClientInformation(confidentialMetadata, 1_700_000_000_000);
    const secret = response.client_secret;
    expect(typeof secret).toBe("string");
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(stored).not.toHaveProperty("client_secret");
    expect(stored.client_secret_hash).toBe(sha256Hex(secret as string));
    expect(response).not.toHaveProperty("client_secret_hash");
  });

  it("a confidential response carries all metadata, the id, issued-at and a non-expiring secret (RFC 7591 §3.2.1)", () => {
    const { stored, response } = newClientInformation({ ...confidentialMetadata, token_endpoint_auth_method: "client_secret_post" }, 1_700_000_000_000);
    expect(response).toEqual({
      ...confidentialMetadata,
      token_endpoint_auth_method: "client_secret_post",
      client_id: stored.client_id,
      client_id_issued_at: 1_700_000_000,
      client_secret: response.client_secret,
      client_secret_expires_at: 0,
    });
    expect(stored.client_secret_expires_at).toBe(0);
  });

  it("treats metadata without an auth method as client_secret_basic (the RFC 7591 default)", () => {
    expect(newClientInformation({ redirect_uris: [REDIRECT] }).response).toHaveProperty("client_secret");
  });

  it("gives every confidential client a different secret", () => {
    const a = newClientInformation(confidentialMetadata).response.client_secret;
    const b = newClientInformation(confidentialMetadata).response.client_secret;
    expect(a).not.toBe(b);
  });

  it("registered clients authenticate with the secret from the response", () => {
    const { stored, response } = newClientInformation(confidentialMetadata);
    expect(authenticateClient(stored, { method: "client_secret_basic", secret: response.client_secret as string })).toBe(true);
  });
});

describe("authenticateClient", () => {
  const secret = "s3cret-value";
  const basicClient: OAuthClientInformation = { client_id: "basic", redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_basic", client_secret_hash: sha256Hex(secret) };
  const postClient: OAuthClientInformation = { ...basicClient, client_id: "post", token_endpoint_auth_method: "client_secret_post" };
  const publicClient: OAuthClientInformation = { client_id: "public", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" };

  it("accepts a public client presenting no secret", () => {
    expect(authenticateClient(publicClient, { method: "none" })).toBe(true);
  });

  it("accepts client_secret_basic with the right secret", () => {
    expect(authenticateClient(basicClient, { method: "client_secret_basic", secret })).toBe(true);
  });

  it("accepts client_secret_post with the right secret", () => {
    expect(authenticateClient(postClient, { method: "client_secret_post", secret })).toBe(true);
  });

  it("accepts a clear client_secret of a client configured in code", () => {
    const configured: OAuthClientInformation = { client_id: "cfg", redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_post", client_secret: secret };
    expect(authenticateClient(configured, { method: "client_secret_post", secret })).toBe(true);
  });

  it("treats a client without an auth method as client_secret_basic", () => {
    const { token_endpoint_auth_method: _, ...withoutMethod } = basicClient;
    expect(authenticateClient(withoutMethod, { method: "client_secret_basic", secret })).toBe(true);
    expect(authenticateClient(withoutMethod, { method: "client_secret_post", secret })).toBe(false);
  });

  it("refuses a wrong secret", () => {
    expect(authenticateClient(basicClient, { method: "client_secret_basic", secret: "s3cret-valuf" })).toBe(false);
  });

  it("refuses a wrong clear secret", () => {
    expect(authenticateClient({ ...postClient, client_secret_hash: undefined, client_secret: secret }, { method: "client_secret_post", secret: "nope" })).toBe(false);
  });

  it("refuses a secret method without a secret", () => {
    expect(authenticateClient(basicClient, { method: "client_secret_basic" })).toBe(false);
  });

  it("refuses an empty secret", () => {
    expect(authenticateClient(basicClient, { method: "client_secret_basic", secret: "" })).toBe(false);
  });

  it("refuses post credentials for a basic client", () => {
    expect(authenticateClient(basicClient, { method: "client_secret_post", secret })).toBe(false);
  });

  it("refuses basic credentials for a post client", () => {
    expect(authenticateClient(postClient, { method: "client_secret_basic", secret })).toBe(false);
  });

  it("refuses a confidential client presenting no authentication (none)", () => {
    expect(authenticateClient(basicClient, { method: "none" })).toBe(false);
  });

  it("refuses a public client presenting a secret method", () => {
    expect(authenticateClient(publicClient, { method: "client_secret_post", secret: "anything" })).toBe(false);
  });

  it("refuses an expired secret", () => {
    const now = 1_700_000_000_000;
    expect(authenticateClient({ ...basicClient, client_secret_expires_at: now / 1000 - 1 }, { method: "client_secret_basic", secret }, now)).toBe(false);
  });

  it("refuses a secret at the second it expires", () => {
    const now = 1_700_000_000_000;
    expect(authenticateClient({ ...basicClient, client_secret_expires_at: now / 1000 }, { method: "client_secret_basic", secret }, now)).toBe(false);
  });

  it("accepts a secret before it expires, and one with expires_at 0 (never)", () => {
    const now = 1_700_000_000_000;
    expect(authenticateClient({ ...basicClient, client_secret_expires_at: now / 1000 + 60 }, { method: "client_secret_basic", secret }, now)).toBe(true);
    expect(authenticateClient({ ...basicClient, client_secret_expires_at: 0 }, { method: "client_secret_basic", secret }, now)).toBe(true);
  });

  it("refuses a confidential client that has no secret on record", () => {
    expect(authenticateClient({ ...basicClient, client_secret_hash: undefined }, { method: "client_secret_basic", secret })).toBe(false);
  });

  it("refuses when the stored hash is malformed", () => {
    expect(authenticateClient({ ...basicClient, client_secret_hash: "not-hex" }, { method: "client_secret_basic", secret })).toBe(false);
  });
});

describe("clientCredentialsFrom", () => {
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
  const form = (fields: Record<string, string> | string[][] = {}) => new URLSearchParams(fields);
  const credentials = (result: ReturnType<typeof clientCredentialsFrom>): PresentedClientCredentials => {
    if ("error" in result) throw result.error;
    return result;
  };
  const error = (result: ReturnType<typeof clientCredentialsFrom>): OAuthError => {
    if (!("error" in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
    return result.error;
  };

  it("reads HTTP Basic credentials", () => {
    expect(credentials(clientCredentialsFrom({ authorization: basic("my-client", "my-secret") }, form()))).toEqual({
      clientId: "my-client",
      method: "client_secret_basic",
      secret: "my-secret",
    });
  });

  it("form-decodes the id and secret inside Basic (RFC 6749 §2.3.1), including an encoded ':'", () => {
    expect(credentials(clientCredentialsFrom({ authorization: basic("id%3Awith%3Acolons", "p%3Ass%2Bw+rd%25") }, form()))).toEqual({
      clientId: "id:with:colons",
      method: "client_secret_basic",
      secret: "p:ss+w rd%",
    });
  });

  it("reads Basic from a Headers object, with any case of the scheme", () => {
    const headers = new Headers({ Authorization: basic("my-client", "my-secret").replace("Basic", "bAsIc") });
    expect(credentials(clientCredentialsFrom(headers, form()))).toMatchObject({ clientId: "my-client", method: "client_secret_basic" });
  });

  it("accepts a form client_id equal to the Basic one", () => {
    expect(credentials(clientCredentialsFrom({ authorization: basic("my-client", "my-secret") }, form({ client_id: "my-client" })))).toMatchObject({
      clientId: "my-client",
      method: "client_secret_basic",
    });
  });

  it("reads client_secret_post credentials from the form", () => {
    expect(credentials(clientCredentialsFrom({}, form({ client_id: "my-client", client_secret: "my-secret" })))).toEqual({
      clientId: "my-client",
      method: "client_secret_post",
      secret: "my-secret",
    });
  });

  it("reads a public client (client_id only) as none", () => {
    expect(credentials(clientCredentialsFrom({}, form({ client_id: "my-client" })))).toEqual({ clientId: "my-client", method: "none" });
  });

  it("treats an empty form client_secret as none", () => {
    expect(credentials(clientCredentialsFrom({}, form({ client_id: "my-client", client_secret: "" })))).toEqual({ clientId: "my-client", method: "none" });
  });

  it("treats Basic with an empty secret as none", () => {
    expect(credentials(clientCredentialsFrom({ authorization: basic("my-client", "") }, form()))).toEqual({ clientId: "my-client", method: "none" });
  });

  it("returns no client id when the request names none", () => {
    expect(credentials(clientCredentialsFrom(new Headers(), form({ grant_type: "authorization_code" })))).toEqual({ method: "none" });
  });

  it("ignores an empty Authorization header", () => {
    expect(credentials(clientCredentialsFrom({ authorization: "" }, form({ client_id: "my-client" })))).toEqual({ clientId: "my-client", method: "none" });
  });

  it("refuses Basic and a form secret together", () => {
    const refused = error(clientCredentialsFrom({ authorization: basic("my-client", "my-secret") }, form({ client_id: "my-client", client_secret: "my-secret" })));
    expect(refused.error).toBe("invalid_request");
    expect(refused.description).toContain("use one client authentication method");
  });

  it("refuses a form client_id that differs from the Basic one", () => {
    const refused = error(clientCredentialsFrom({ authorization: basic("my-client", "my-secret") }, form({ client_id: "other-client" })));
    expect(refused.error).toBe("invalid_request");
    expect(refused.description).toContain("does not match");
  });

  it("refuses a client_secret without a client_id", () => {
    expect(error(clientCredentialsFrom({}, form({ client_secret: "my-secret" }))).error).toBe("invalid_request");
  });

  it("refuses a repeated client_id", () => {
    expect(error(clientCredentialsFrom({}, form([["client_id", "a"], ["client_id", "b"]]))).error).toBe("invalid_request");
  });

  it("refuses a repeated client_secret", () => {
    expect(error(clientCredentialsFrom({}, form([["client_id", "a"], ["client_secret", "x"], ["client_secret", "y"]]))).error).toBe("invalid_request");
  });

  it.each([
    ["not base64", "Basic !!!not-base64!!!"],
    ["no colon", `Basic ${Buffer.from("just-an-id").toString("base64")}`],
    ["an empty client id", `Basic ${Buffer.from(":secret").toString("base64")}`],
    ["bad percent-encoding", `Basic ${Buffer.from("id%zz:secret").toString("base64")}`],
    ["not UTF-8", `Basic ${Buffer.from([0x69, 0x64, 0x3a, 0xff, 0xfe]).toString("base64")}`],
    ["no credentials after the scheme", "Basic"],
    ["two tokens", `Basic ${Buffer.from("a:b").toString("base64")} extra`],
    ["another scheme", "Bearer some-token"],
  ])("refuses malformed Basic credentials: %s", (_name, authorization) => {
    const refused = error(clientCredentialsFrom({ authorization }, form()));
    expect(refused.error).toBe("invalid_client");
  });

  it("never puts the secret in an error description", () => {
    const refused = error(clientCredentialsFrom({ authorization: basic("my-client", "TOP-SECRET") }, form({ client_secret: "TOP-SECRET" })));
    expect(refused.description).not.toContain("TOP-SECRET");
  });
});
