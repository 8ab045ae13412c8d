/**
 * A real server on 127.0.0.1 for the SSRF and Client ID Metadata Document tests: https with a
 * self-signed certificate made by the `openssl` binary at test time (plain http, fetched with
 * `allowHttp`, when the machine has no openssl). It counts TCP connections and records requests.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** TLS SNI the client sent (https only). */
  readonly servername: string | undefined;
}

/**
 * An answer. `body` objects are sent as JSON with a Content-Length; `chunks` are written one by
 * one without a Content-Length (chunked encoding), `chunkDelayMs` apart; `hang` never answers;
 * `delayMs` waits before answering.
 */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  chunks?: (string | Buffer)[];
  chunkDelayMs?: number;
  delayMs?: number;
  hang?: boolean;
}

export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
}

/** A certificate for `localhost`, 127.0.0.1 and ::1, or undefined when there is no openssl binary. */
export function makeTestCertificate(): TestCertificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), "fastmcp-cimd-cert-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
    ], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class DocumentServer {
  readonly requests: RecordedRequest[] = [];
  connections = 0;
  reply: (request: RecordedRequest) => Reply = () => ({ status: 404 });
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor(
    private readonly server: Server,
    readonly certificate: TestCertificate | undefined,
  ) {
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.answer(req, res));
    server.on("connection", (socket: Socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(certificate: TestCertificate | undefined): Promise<DocumentServer> {
    const server = certificate ? createHttpsServer({ key: certificate.key, cert: certificate.cert }) : createHttpServer();
    const documents = new DocumentServer(server, certificate);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    documents.port = (server.address() as AddressInfo).port;
    return documents;
  }

  get scheme(): "https" | "http" {
    return this.certificate ? "https" : "http";
  }

  /** `<scheme>://<host>:<port><path>`; host 127.0.0.1 unless given. */
  url(path: string, host = "127.0.0.1"): string {
    return `${this.scheme}://${host}:${this.port}${path}`;
  }

  /** The relaxations a fetch needs to reach this server. */
  get relaxations(): { allowPrivateAddresses: true; allowHttp?: true; ca?: string } {
    return this.certificate ? { allowPrivateAddresses: true, ca: this.certificate.cert } : { allowPrivateAddresses: true, allowHttp: true };
  }

  count(path: string): number {
    return this.requests.filter((request) => request.path === path).length;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const request: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      servername: (req.socket as Partial<TLSSocket>).servername || undefined,
    };
    this.requests.push(request);
    const reply = this.reply(request);
    if (reply.hang) return;
    setTimeout(() => send(res, reply), reply.delayMs ?? 0);
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  if (reply.chunks) {
    res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
    void writeChunks(res, reply.chunks, reply.chunkDelayMs ?? 0);
    return;
  }
  const body = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status ?? 200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...reply.headers });
  res.end(body);
}

async function writeChunks(res: ServerResponse, chunks: readonly (string | Buffer)[], delayMs: number): Promise<void> {
  for (const chunk of chunks) {
    if (res.destroyed) return;
    res.write(chunk);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  if (!res.destroyed) res.end();
}
