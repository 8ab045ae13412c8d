import { UriTemplate, type Annotations, type ReadResourceResult, type Resource, type ResourceTemplateType } from "@modelcontextprotocol/server";

/** One entry of a `resources/read` result: text or a base64 blob. */
export type ResourceContents = ReadResourceResult["contents"][number];
import type { Context } from "../context.js";
import { ComponentDefinitionError } from "../../errors.js";
import { componentAccess, presentation, requireFunction, type ComponentAccess, type ComponentOptions } from "./common.js";
import { compileSchema, type CompiledSchema, type InferSchema, type SchemaInput } from "./schema.js";

/** What a resource reader may return: text, bytes, ready-made contents, or any JSON value. */
export type ResourceReturn = string | Uint8Array | ResourceContents[] | unknown;

/** Suggests values for one argument of a prompt or one variable of a resource template. */
export type Completer = (value: string, context: { arguments: Record<string, string> }) => string[] | Promise<string[]>;

interface ResourceCommon extends ComponentOptions {
  name: string;
  mimeType?: string;
  annotations?: Annotations;
}

export interface ResourceOptions extends ResourceCommon {
  uri: string;
  /** Size in bytes, when known ahead of reading. */
  size?: number;
  read: (ctx: Context) => ResourceReturn | Promise<ResourceReturn>;
}

export type TemplateVariables = Record<string, string | string[]>;

export interface ResourceTemplateOptions<P extends SchemaInput | undefined = undefined> extends ResourceCommon {
  /** An RFC 6570 URI template, e.g. `weather://{city}/current`. */
  uriTemplate: string;
  /** Optional schema to validate and convert the template variables (e.g. `z.coerce.number()`). */
  parameters?: P;
  /** Completion for template variables, keyed by variable name. */
  complete?: Record<string, Completer>;
  read: (args: P extends SchemaInput ? InferSchema<P> : TemplateVariables, ctx: Context) => ResourceReturn | Promise<ResourceReturn>;
}

export interface ResourceEntry {
  readonly uri: string;
  readonly name: string;
  readonly mimeType: string | undefined;
  readonly definition: Resource;
  readonly access: ComponentAccess;
  readonly read: (ctx: Context) => ResourceReturn | Promise<ResourceReturn>;
}

export interface ResourceTemplateEntry {
  readonly name: string;
  readonly template: UriTemplate;
  readonly mimeType: string | undefined;
  readonly definition: ResourceTemplateType;
  readonly parameters: CompiledSchema | undefined;
  readonly complete: Record<string, Completer>;
  readonly access: ComponentAccess;
  readonly read: (args: unknown, ctx: Context) => ResourceReturn | Promise<ResourceReturn>;
}

function requireResourceName(kind: string, name: unknown): string {
  if (typeof name !== "string" || name.trim().length === 0) throw new ComponentDefinitionError(`${kind} needs a non-empty "name"`);
  return name;
}

export function defineResource(options: ResourceOptions): ResourceEntry {
  const name = requireResourceName("Resource", options?.name);
  const uri = options.uri;
  if (typeof uri !== "string" || !URL.canParse(uri)) throw new ComponentDefinitionError(`Resource "${name}": uri ${JSON.stringify(uri)} is not an absolute URI`);
  if (UriTemplate.isTemplate(uri)) throw new ComponentDefinitionError(`Resource "${name}": uri ${uri} contains template variables; use resourceTemplate() instead`);
  const owner = `Resource "${uri}"`;
  requireFunction(owner, "read", options.read);
  const definition: Resource = { uri, name, ...presentation(options) };
  if (options.mimeType !== undefined) definition.mimeType = options.mimeType;
  if (options.size !== undefined) definition.size = options.size;
  if (options.annotations !== undefined) definition.annotations = options.annotations;
  return { uri, name, mimeType: options.mimeType, definition, access: componentAccess(options, owner), read: options.read };
}

export function defineResourceTemplate(options: ResourceTemplateOptions<SchemaInput | undefined>): ResourceTemplateEntry {
  const name = requireResourceName("Resource template", options?.name);
  const owner = `Resource template "${name}"`;
  let template: UriTemplate;
  try {
    template = new UriTemplate(options.uriTemplate);
  } catch (error) {
    throw new ComponentDefinitionError(`${owner}: invalid URI template ${JSON.stringify(options.uriTemplate)} (${(error as Error).message})`);
  }
  if (template.variableNames.length === 0) throw new ComponentDefinitionError(`${owner}: ${options.uriTemplate} has no variables; use resource() instead`);
  requireFunction(owner, "read", options.read);
  for (const variable of Object.keys(options.complete ?? {})) {
    if (!template.variableNames.includes(variable)) throw new ComponentDefinitionError(`${owner}: cannot complete "${variable}", the template has no such variable`);
  }
  const definition: ResourceTemplateType = { uriTemplate: options.uriTemplate, name, ...presentation(options) };
  if (options.mimeType !== undefined) definition.mimeType = options.mimeType;
  if (options.annotations !== undefined) definition.annotations = options.annotations;
  return {
    name,
    template,
    mimeType: options.mimeType,
    definition,
    parameters: options.parameters === undefined ? undefined : compileSchema(options.parameters, "input", owner),
    complete: options.complete ?? {},
    access: componentAccess(options, owner),
    read: options.read as ResourceTemplateEntry["read"],
  };
}

/** Converts what a reader returned into `resources/read` contents for `uri`. */
export function toResourceContents(uri: string, mimeType: string | undefined, value: ResourceReturn): ResourceContents[] {
  if (typeof value === "string") return [{ uri, mimeType: mimeType ?? "text/plain", text: value }];
  if (value instanceof Uint8Array) {
    return [{ uri, mimeType: mimeType ?? "application/octet-stream", blob: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") }];
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isResourceContents)) return value;
  return [{ uri, mimeType: mimeType ?? "application/json", text: JSON.stringify(value ?? null) }];
}

function isResourceContents(value: unknown): value is ResourceContents {
  if (typeof value !== "object" || value === null) return false;
  const item = value as Record<string, unknown>;
  return typeof item.uri === "string" && (typeof item.text === "string" || typeof item.blob === "string");
}
