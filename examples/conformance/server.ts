/**
 * The conformance fixture server: Streamable HTTP (stateful) at http://127.0.0.1:$PORT/mcp.
 *
 *   npx tsx examples/conformance/server.ts          # PORT defaults to 3001
 */
import { createConformanceServer } from "./app.js";

const WATCHED_INTERVAL_MS = 3_000;

function portFromEnv(value: string | undefined): number {
  if (value === undefined || value === "") return 3001;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`PORT must be a port number, got ${JSON.stringify(value)}`);
  return port;
}

const { mcp, touchWatchedResource } = createConformanceServer();
/** Exported for tools that load this file rather than run it (a CLI passes its own run options). */
export { mcp };

await mcp.run({ transport: "http", host: "127.0.0.1", port: portFromEnv(process.env.PORT), path: "/mcp" });
setInterval(() => void touchWatchedResource(), WATCHED_INTERVAL_MS).unref();
