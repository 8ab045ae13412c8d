/**
 * A front on 127.0.0.1 that forwards every request to an upstream origin unchanged, or misbehaves
 * on purpose: the upstream's outage (503), an answer it should not give (a token that has already
 * expired), or a refusal whose text must never reach a client. For testing what a client of the
 * upstream does when the upstream fails.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FrontMode = "pass" | "down" | "expired-token" | "refuse";

export interface FaultyFront {
  readonly origin: string;
  mode: FrontMode;
  /** Requests the front answered itself instead of forwarding. */
  readonly faults: number;
  close(): Promise<void>;
}

export async function startFaultyFront(upstreamOrigin: string): Promise<FaultyFront> {
  let faults = 0;
  const front = {
    mode: "pass" as FrontMode,
    get faults() {
      return faults;
    },
  };
  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await read(req);
    if (front.mode === "down") {
      faults++;
      return void res.writeHead(503, { "content-type": "text/html" }).end("<h1>Service Unavailable</h1>");
    }
    if (front.mode === "refuse") {
      faults++;
      return void res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_grant", error_description: "internal detail: user 4711 is locked in tenant acme" }));
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== "host" && name !== "content-length").map(([name, value]) => [name, String(value)]));
    const forwarded = await fetch(`${upstreamOrigin}${req.url}`, { method: req.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined, redirect: "manual" });
    let text = await forwarded.text();
    if (front.mode === "expired-token" && forwarded.status === 200 && text.includes("access_token")) {
      faults++;
      text = JSON.stringify({ ...(JSON.parse(text) as object), expires_in: 0 });
    }
    const outHeaders: Record<string, string> = {};
    forwarded.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "content-encoding" && name !== "transfer-encoding") outHeaders[name] = value;
    });
    res.writeHead(forwarded.status, outHeaders).end(text);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(front, {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  });
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
