/**
 * What the browser tests share: Debian's Chromium (through playwright-core, with the flags this
 * machine's closed network needs), whether it is there, a loopback "client" the browser is sent
 * back to, and PKCE pairs.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const SCREENSHOTS = fileURLToPath(new URL("../.tmp/", import.meta.url));
export const available = existsSync(CHROMIUM);
export const ci = process.env.CI === "true";

if (!available && !ci) {
  console.warn(`[test/browser] skipped: ${CHROMIUM} is missing. Install Debian's chromium (apt-get install -y --no-install-recommends chromium), or run .ci/run, which does.`);
}

/** The loopback application the browser is sent back to: it records what arrived. */
export class ClientApp {
  readonly received: URLSearchParams[] = [];
  private constructor(private readonly server: Server, readonly redirectUri: string) {}

  static async start(): Promise<ClientApp> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const app = new ClientApp(server, `http://127.0.0.1:${port}/callback`);
    server.on("request", (request, response) => {
      const url = new URL(request.url ?? "/", app.redirectUri);
      if (url.pathname !== "/callback") {
        response.writeHead(404).end();
        return;
      }
      app.received.push(url.searchParams);
      const outcome = url.searchParams.has("code") ? "Signed in" : `Not signed in: ${url.searchParams.get("error")}`;
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html><title>Todo Desktop</title><h1 id="outcome">${outcome}</h1><p>You can close this window.</p>`);
    });
    return app;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

