import { createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { base64url, SignJWT, type JWTHeaderParameters, type JWTPayload } from "jose";
import { afterAll, beforeAll } from "vitest";
import type { JWTKeyPair } from "fastmcp-ts/auth";

/** One request as the test server saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * What the test server answers. `body` objects are sent as JSON. `hang` never answers (until the
 * server closes); `reset` drops the connection without a response.
 */
export type Reply =
  | { status?: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }
  | { hang: true }
  | { reset: true };

/**
 * A real node:http server on 127.0.0.1 and an ephemeral port whose answers the test decides
 * (`reply`), and which records every request. It can be closed (connection refused) and started
 * again on the same port.
 */
export class TestEndpoint {
  readonly requests: RecordedRequest[] = [];
  reply: (request: RecordedRequest) => Reply | Promise<Reply> = () => ({ status: 404, body: { error: "not_found" } });
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor() {
    this.server = this.create();
  }

  static async start(): Promise<TestEndpoint> {
    const endpoint = new TestEndpoint();
    await endpoint.listen(0);
    return endpoint;
  }

  /** The origin, `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** Requests received for `path` (all paths when omitted). */
  count(path?: string): number {
    return path === undefined ? this.requests.length : this.requests.filter((r) => r.path === path).length;
  }

  /** Stops listening and drops every open connection (pending `hang` replies included). */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port after {@link close}. */
  async restart(): Promise<void> {
    this.server = this.create();
    await this.listen(this.port);
  }

  private create(): Server {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const request: RecordedRequest = { method: req.method ?? "", path: (req.url ?? "").split("?")[0]!, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
        this.requests.push(request);
        void Promise.resolve(this.reply(request)).then((reply) => answer(res, reply), (error: unknown) => answer(res, { status: 599, body: String(error) }));
      });
    });
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    return server;
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }
}

async function answer(res: ServerResponse, reply: Reply): Promise<void> {
  if ("hang" in reply) return;
  if ("reset" in reply) {
    res.socket?.destroy();
    return;
  }
  if (reply.delayMs) await sleep(reply.delayMs);
  if (res.destroyed) return;
  const body = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  const headers: Record<string, string> = { ...(typeof reply.body === "object" && reply.body !== null ? { "content-type": "application/json" } : {}), ...reply.headers };
  res.writeHead(reply.status ?? 200, headers);
  res.end(body);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it became true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The pair's private key as a KeyObject, to sign tokens `createToken` cannot express. */
export function privateKeyOf(pair: JWTKeyPair): KeyObject {
  return createPrivateKey(pair.privateKeyPem());
}

/** Signs exactly `payload` with exactly `header` (no defaults added). */
export function signJwt(key: KeyObject | Uint8Array, header: JWTHeaderParameters, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/**
 * Assembles and signs a compact JWS by hand (RS*, ES*, EdDSA), for headers jose
 * refuses to produce, such as a `crit` it does not understand.
 */
export function signCompact(pair: JWTKeyPair, header: Record<string, unknown>, payload: unknown): string {
  const input = Buffer.from(`${b64(header)}.${b64(payload)}`, "ascii");
  const key = privateKeyOf(pair);
  const alg = String(header.alg);
  const signature =
    alg.startsWith("RS") ? cryptoSign(`sha${alg.slice(2)}`, input, key)
    : alg.startsWith("ES") ? cryptoSign(`sha${alg.slice(2)}`, input, { key, dsaEncoding: "ieee-p1363" })
    : cryptoSign(null, input, key);
  return `${input.toString("ascii")}.${signature.toString("base64url")}`;
}

/** Base64url of a JSON value or raw string, for hand-assembled tokens. */
export function b64(value: unknown): string {
  return base64url.encode(typeof value === "string" ? value : JSON.stringify(value));
}

/** Collects what a verifier reports through `onError`. */
export function errorSink(): { readonly errors: unknown[]; readonly onError: (error: unknown) => void; messages: () => string[] } {
  const errors: unknown[] = [];
  return { errors, onError: (error) => errors.push(error), messages: () => errors.map((e) => (e instanceof Error ? e.message : String(e))) };
}

// --- A self-signed X.509 certificate, built with a minimal DER encoder and node:crypto signatures ---

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));

function objectIdentifier(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let n = arc >> 7; n > 0; n >>= 7) chunk.unshift((n & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const two = (n: number) => String(n).padStart(2, "0");
  const text = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, "ascii"));
}

function commonName(name: string): Buffer {
  return sequence(tlv(0x31, sequence(objectIdentifier("2.5.4.3"), tlv(0x0c, Buffer.from(name, "utf8")))));
}

/**
 * A self-signed X.509 v3 certificate (PEM) for the pair's public key, signed with its private key.
 * Node can parse certificates (X509Certificate) but not create them, hence the small DER encoder.
 */
export function selfSignedCertificate(pair: JWTKeyPair, subject = "fastmcp-test"): string {
  const privateKey = privateKeyOf(pair);
  const [signatureAlgorithm, digest] =
    pair.algorithm === "RS256" ? [sequence(objectIdentifier("1.2.840.113549.1.1.11"), tlv(0x05, Buffer.alloc(0))), "sha256"]
    : pair.algorithm === "ES256" ? [sequence(objectIdentifier("1.2.840.10045.4.3.2")), "sha256"]
    : [sequence(objectIdentifier("1.3.101.112")), null];
  const now = Date.now();
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, Buffer.from([0x01, 0x23, 0x45, 0x67])), // serial number
    signatureAlgorithm,
    commonName(subject), // issuer
    sequence(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 365 * 86400_000))),
    commonName(subject), // subject
    pair.publicKeyObject.export({ type: "spki", format: "der" }),
  );
  const signature = cryptoSign(digest, tbs, privateKey);
  const der = sequence(tbs, signatureAlgorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = der.toString("base64").match(/.{1,64}/g)!;
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/**
 * Verifiers fill options left out from FASTMCP_SERVER_AUTH_* variables; a developer's shell must
 * not change what these tests see. Call at the top of a test file.
 */
export function withoutAuthEnvironment(): void {
  const saved: Record<string, string> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(process.env)) {
      if (name.startsWith("FASTMCP_SERVER_AUTH_") && value !== undefined) {
        saved[name] = value;
        delete process.env[name];
      }
    }
  });
  afterAll(() => {
    Object.assign(process.env, saved);
  });
}
