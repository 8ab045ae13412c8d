import { connect, createServer, type AddressInfo } from "node:net";

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

/** Where the tests' closed ports are picked: below Linux's ephemeral range (32768-60999). */
const CLOSED_RANGE = { from: 20_000, size: 10_000 };

/**
 * A loopback port where a connection is refused, and stays refused: a port from {@link freePort}
 * goes back to the kernel's ephemeral pool, and a test running in parallel may get it for its
 * own server a moment later. This one is below the ephemeral range, which a listen on port 0
 * never hands out, and is checked to refuse a connection before it is returned.
 */
export async function closedPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = CLOSED_RANGE.from + Math.floor(Math.random() * CLOSED_RANGE.size);
    if (await refuses(port)) return port;
  }
  throw new Error(`no closed port found in ${CLOSED_RANGE.from}-${CLOSED_RANGE.from + CLOSED_RANGE.size - 1}`);
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}
