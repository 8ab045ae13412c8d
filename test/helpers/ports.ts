import { createServer, type AddressInfo } from "node:net";

/**
 * A loopback port nobody listens on right now. Auth providers need the server's URL before the
 * server starts, so tests pick the port first (and retry should another process take it meanwhile).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
