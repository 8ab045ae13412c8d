import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { JWTKeyPair } from "fastmcp-ts/auth";

/**
 * A loopback stand-in for an identity provider's published documents: JSON served at the paths
 * the test sets (JWKS, metadata), signed tokens from its own key pair. No login flow (the e2e
 * tests use a real authorization server for that).
 */
export class KeyServer {
  readonly keys = JWTKeyPair.generate();
  readonly documents = new Map<string, unknown>();
  readonly hits = new Map<string, number>();
  private server: Server | undefined;
  origin = "";

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const path = new URL(request.url!, "http://x").pathname;
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const document = this.documents.get(path);
      if (document === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Serves the public key set at `path`. */
  async serveJwks(path: string): Promise<void> {
    this.documents.set(path, await this.keys.jwks());
  }

  /** Serves authorization server metadata for `issuer` at `path`. */
  serveMetadata(path: string, issuer: string, jwksUri: string): void {
    this.documents.set(path, {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      registration_endpoint: `${issuer}/register`,
      jwks_uri: jwksUri,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
