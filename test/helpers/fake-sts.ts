/**
 * A security token service on 127.0.0.1 that implements exactly the two grants a proxy uses for
 * downstream tokens: RFC 8693 token exchange (an access token as `subject_token`) and Microsoft
 * Entra's On-Behalf-Of (the jwt-bearer grant with `requested_token_use=on_behalf_of`). It checks
 * the client's HTTP Basic credentials and the grant's parameters as the specifications say,
 * issues opaque tokens, and records every request. `refuse` makes it answer an OAuth error;
 * `fail` a 503.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StsRequest {
  readonly grantType: string;
  readonly form: URLSearchParams;
  /** The client id of the Basic credentials, when they were right. */
  readonly clientId: string | undefined;
}

export interface FakeSts {
  readonly tokenEndpoint: string;
  readonly requests: StsRequest[];
  /** Tokens it issued, with what they were issued for. */
  readonly issued: Map<string, { subject: string; audience?: string; resource?: string; scope?: string }>;
  /** An OAuth error code to answer with (400), instead of a token. */
  refuse: string | undefined;
  /** Answer 503. */
  fail: boolean;
  /** `expires_in` of issued tokens. */
  expiresIn: number;
  close(): Promise<void>;
}

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export async function startFakeSts(client: { id: string; secret: string }): Promise<FakeSts> {
  const sts: Omit<FakeSts, "tokenEndpoint" | "close"> = { requests: [], issued: new Map(), refuse: undefined, fail: false, expiresIn: 300 };
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      const form = new URLSearchParams(body);
      const clientId = basicClient(request.headers.authorization, client);
      const grantType = form.get("grant_type") ?? "";
      sts.requests.push({ grantType, form, clientId });
      const answer = (status: number, json: unknown) => {
        response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
        response.end(JSON.stringify(json));
      };
      if (sts.fail) return answer(503, { error: "temporarily_unavailable" });
      if (clientId === undefined) return answer(401, { error: "invalid_client" });
      const subject = grantType === TOKEN_EXCHANGE ? tokenExchangeSubject(form) : grantType === JWT_BEARER ? onBehalfOfSubject(form) : undefined;
      if (subject === undefined) return answer(400, { error: grantType === TOKEN_EXCHANGE || grantType === JWT_BEARER ? "invalid_request" : "unsupported_grant_type" });
      if (sts.refuse) return answer(400, { error: sts.refuse, error_description: "refused by the test" });
      const token = `sts-${randomBytes(16).toString("base64url")}`;
      sts.issued.set(token, { subject, ...optional(form, "audience"), ...optional(form, "resource"), ...optional(form, "scope") });
      const issued: Record<string, unknown> = { access_token: token, token_type: "Bearer", expires_in: sts.expiresIn };
      if (grantType === TOKEN_EXCHANGE) issued.issued_token_type = ACCESS_TOKEN_TYPE;
      if (form.has("scope")) issued.scope = form.get("scope");
      answer(200, issued);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(sts, {
    tokenEndpoint: `http://127.0.0.1:${port}/token`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  }) as FakeSts;
}

/** RFC 8693 §2.1: subject_token and its type are required; an access token is what is exchanged here. */
function tokenExchangeSubject(form: URLSearchParams): string | undefined {
  const subject = form.get("subject_token");
  if (!subject || form.get("subject_token_type") !== ACCESS_TOKEN_TYPE) return undefined;
  const requested = form.get("requested_token_type");
  if (requested !== null && requested !== ACCESS_TOKEN_TYPE) return undefined;
  return subject;
}

/** Entra On-Behalf-Of: the jwt-bearer grant with the user's token as `assertion`, `requested_token_use` and a scope. */
function onBehalfOfSubject(form: URLSearchParams): string | undefined {
  const assertion = form.get("assertion");
  if (!assertion || form.get("requested_token_use") !== "on_behalf_of" || !form.get("scope")) return undefined;
  return assertion;
}

function basicClient(header: string | undefined, client: { id: string; secret: string }): string | undefined {
  if (!header?.startsWith("Basic ")) return undefined;
  const [id, secret] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":").map(decodeURIComponent);
  return id === client.id && secret === client.secret ? id : undefined;
}

function optional(form: URLSearchParams, name: string): Record<string, string> {
  const value = form.get(name);
  return value === null ? {} : { [name]: value };
}
