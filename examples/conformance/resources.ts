import type { FastMCP } from "fastmcp-ts";
import { RED_PIXEL_PNG } from "./media.js";

export const WATCHED_URI = "test://watched-resource";

/** Completion candidates for the template's `{id}` variable. */
const KNOWN_IDS = ["1", "12", "123", "42"];

/**
 * Resources and the resource template of the resources-* scenarios. The watched resource changes
 * on every `tick()` (see startWatchedTicker), which tells subscribers.
 */
export function addResources(mcp: FastMCP): { tick: () => Promise<void> } {
  mcp.resource({
    uri: "test://static-text",
    name: "static-text",
    title: "Static Text Resource",
    description: "A static text resource",
    mimeType: "text/plain",
    read: () => "This is the content of the static text resource.",
  });
  mcp.resource({
    uri: "test://static-binary",
    name: "static-binary",
    title: "Static Binary Resource",
    description: "A static binary resource (a 1x1 red PNG)",
    mimeType: "image/png",
    read: () => Buffer.from(RED_PIXEL_PNG, "base64"),
  });
  mcp.resourceTemplate({
    uriTemplate: "test://template/{id}/data",
    name: "template",
    title: "Resource Template",
    description: "A resource template with parameter substitution",
    mimeType: "application/json",
    complete: { id: (value) => KNOWN_IDS.filter((id) => id.startsWith(value)) },
    read: ({ id }) => ({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
  });

  let version = 0;
  mcp.resource({
    uri: WATCHED_URI,
    name: "watched-resource",
    title: "Watched Resource",
    description: "A resource that changes over time; subscribe to hear about it",
    mimeType: "text/plain",
    read: () => `Watched resource content (version ${version})`,
  });
  return {
    tick: () => {
      version++;
      return mcp.notifyResourceUpdated(WATCHED_URI);
    },
  };
}
