import type { AudioContent, ContentBlock, EmbeddedResource, ImageContent, ResourceLink } from "@modelcontextprotocol/server";

const CONTENT_TYPES = new Set(["text", "image", "audio", "resource", "resource_link"]);

/** True for a value that is already an MCP content block (text, image, audio, resource, resource_link). */
export function isContentBlock(value: unknown): value is ContentBlock {
  if (typeof value !== "object" || value === null) return false;
  const block = value as Record<string, unknown>;
  if (typeof block.type !== "string" || !CONTENT_TYPES.has(block.type)) return false;
  switch (block.type) {
    case "text": return typeof block.text === "string";
    case "image":
    case "audio": return typeof block.data === "string" && typeof block.mimeType === "string";
    case "resource": return typeof block.resource === "object" && block.resource !== null;
    default: return typeof block.uri === "string" && typeof block.name === "string";
  }
}

function base64(data: Uint8Array | string): string {
  return typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

/** An image content block from raw bytes (or data that is already base64). */
export function imageContent(data: Uint8Array | string, mimeType = "image/png"): ImageContent {
  return { type: "image", data: base64(data), mimeType };
}

/** An audio content block from raw bytes (or data that is already base64). */
export function audioContent(data: Uint8Array | string, mimeType = "audio/wav"): AudioContent {
  return { type: "audio", data: base64(data), mimeType };
}

/** A resource embedded in a result: text, or bytes sent as a base64 blob. */
export function embeddedResource(uri: string, contents: string | Uint8Array, mimeType?: string): EmbeddedResource {
  const resource = typeof contents === "string"
    ? { uri, text: contents, ...(mimeType ? { mimeType } : {}) }
    : { uri, blob: base64(contents), ...(mimeType ? { mimeType } : {}) };
  return { type: "resource", resource };
}

/** A link to a resource the client may read later. */
export function resourceLink(uri: string, name: string, extra: Omit<ResourceLink, "type" | "uri" | "name"> = {}): ResourceLink {
  return { type: "resource_link", uri, name, ...extra };
}

/** Converts any value a handler may return into content blocks. */
export function toContentBlocks(value: unknown): ContentBlock[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [toContentBlock(value)];
  const blocks = value.filter(isContentBlock);
  if (blocks.length === value.length) return blocks;
  const rest = value.filter((item) => !isContentBlock(item));
  return [{ type: "text", text: JSON.stringify(rest) }, ...blocks];
}

function toContentBlock(value: unknown): ContentBlock {
  if (isContentBlock(value)) return value;
  if (typeof value === "string") return { type: "text", text: value };
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return { type: "text", text: String(value) };
  return { type: "text", text: JSON.stringify(value) };
}
