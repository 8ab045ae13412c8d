import type { CallToolResult, ContentBlock, Implementation, Prompt, Resource, ResourceTemplateType, Tool } from "@modelcontextprotocol/client";

/** Everything `list` reports about a server. */
export interface ServerListing {
  server: Implementation | undefined;
  instructions: string | undefined;
  tools: Tool[];
  resources: Resource[];
  resourceTemplates: ResourceTemplateType[];
  prompts: Prompt[];
}

interface SchemaNode {
  type?: string | string[];
  items?: SchemaNode;
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
}

export function formatListing(listing: ServerListing): string {
  const { server } = listing;
  const title = server ? `${server.name} ${server.version}` : "(unnamed server)";
  return [
    `Server: ${title}`,
    section("Tools", listing.tools.map((tool) => entry(`${tool.name}(${parameterSummary(tool.inputSchema)})`, tool.description))),
    section("Resources", listing.resources.map((resource) => entry(`${resource.uri}${nameAndType(resource.name, resource.mimeType)}`, resource.description))),
    section("Resource templates", listing.resourceTemplates.map((template) => entry(`${template.uriTemplate}${nameAndType(template.name, template.mimeType)}`, template.description))),
    section("Prompts", listing.prompts.map((prompt) => entry(`${prompt.name}(${promptArguments(prompt)})`, prompt.description))),
  ].join("\n\n");
}

/** `a: number, b?: string` from a JSON Schema object. */
export function parameterSummary(schema: unknown): string {
  const { properties = {}, required = [] } = (schema ?? {}) as SchemaNode;
  return Object.entries(properties)
    .map(([name, property]) => `${name}${required.includes(name) ? "" : "?"}: ${typeName(property)}`)
    .join(", ");
}

function typeName(schema: SchemaNode): string {
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  const members = schema.anyOf ?? schema.oneOf;
  if (members) return members.map(typeName).join(" | ");
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeName({ ...schema, type })).join(" | ");
  if (schema.type === "array") return schema.items ? `${wrapUnion(typeName(schema.items))}[]` : "array";
  return schema.type ?? "any";
}

function wrapUnion(name: string): string {
  return name.includes(" | ") ? `(${name})` : name;
}

function promptArguments(prompt: Prompt): string {
  return (prompt.arguments ?? []).map((argument) => `${argument.name}${argument.required ? "" : "?"}`).join(", ");
}

function nameAndType(name: string, mimeType: string | undefined): string {
  const details = [name, mimeType].filter((part) => part !== undefined && part !== "");
  return details.length > 0 ? `  (${details.join(", ")})` : "";
}

function section(heading: string, entries: string[]): string {
  return [`${heading} (${entries.length})`, ...(entries.length > 0 ? entries : ["  (none)"])].join("\n");
}

function entry(signature: string, description: string | undefined): string {
  const lines = [`  ${signature}`];
  if (description?.trim()) lines.push(...description.trim().split("\n").map((line) => `      ${line}`.trimEnd()));
  return lines.join("\n");
}

/** A tool result for people: text as is, structured content as indented JSON, media as placeholders. */
export function formatToolResult(result: CallToolResult): string {
  const structured = result.structuredContent;
  const blocks = result.content.filter((block) => !(structured !== undefined && block.type === "text" && sameJson(block.text, structured)));
  const parts = blocks.map(formatContentBlock);
  if (structured !== undefined) parts.push(JSON.stringify(structured, null, 2));
  return parts.join("\n");
}

/** The protocol result alone (the client's convenience `data` field is a copy of structuredContent). */
export function toolResultJson(result: CallToolResult & { data?: unknown }): string {
  const { data: _copy, ...wire } = result;
  return JSON.stringify(wire, null, 2);
}

/** The text of a result's text blocks: what an error result says. */
export function textOf(result: CallToolResult): string {
  return result.content.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("\n");
}

function formatContentBlock(block: ContentBlock): string {
  switch (block.type) {
    case "text": return block.text;
    case "image": return `[image: ${block.mimeType}, ${decodedSize(block.data)} bytes]`;
    case "audio": return `[audio: ${block.mimeType}, ${decodedSize(block.data)} bytes]`;
    case "resource_link": return `[resource link: ${block.uri}]`;
    case "resource": {
      const { resource } = block;
      if ("text" in resource && typeof resource.text === "string") return resource.text;
      const blob = "blob" in resource && typeof resource.blob === "string" ? resource.blob : "";
      return `[resource: ${resource.uri}${resource.mimeType ? `, ${resource.mimeType}` : ""}, ${decodedSize(blob)} bytes]`;
    }
    default: return `[${(block as { type: string }).type} content]`;
  }
}

/** Bytes encoded by a base64 string, without decoding it. */
function decodedSize(base64: string): number {
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((base64.length * 3) / 4) - padding);
}

function sameJson(text: string, value: unknown): boolean {
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(value);
  } catch {
    return false;
  }
}
