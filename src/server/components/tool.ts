import type { CallToolResult, ContentBlock, Tool, ToolAnnotations } from "@modelcontextprotocol/server";
import type { Context } from "../context.js";
import { ComponentDefinitionError } from "../../errors.js";
import { componentAccess, presentation, requireFunction, requireName, type ComponentAccess, type ComponentOptions } from "./common.js";
import { toContentBlocks } from "./content.js";
import { compileSchema, NO_PARAMETERS, type CompiledSchema, type InferSchema, type SchemaInput } from "./schema.js";

/** What a tool may return: a string, an object, content blocks, or a {@link ToolResult} for full control. */
export type ToolReturn = unknown;

export interface ToolOptions<P extends SchemaInput | undefined = undefined> extends ComponentOptions {
  name: string;
  /** Arguments schema: zod v4 (or any Standard Schema) or a JSON Schema object. */
  parameters?: P;
  /**
   * Schema of the structured result. When set, an object returned by `execute` is validated
   * against it and sent as `structuredContent` (and as JSON text for older clients).
   */
  outputSchema?: SchemaInput;
  annotations?: ToolAnnotations;
  execute: (args: InferSchema<P>, ctx: Context) => ToolReturn | Promise<ToolReturn>;
}

/** A complete tool result, when a handler needs to set content and structured content itself. */
export class ToolResult {
  readonly content: ContentBlock[];
  readonly structuredContent: Record<string, unknown> | undefined;
  readonly isError: boolean;
  readonly meta: Record<string, unknown> | undefined;

  constructor(options: { content?: unknown; structuredContent?: Record<string, unknown>; isError?: boolean; meta?: Record<string, unknown> }) {
    this.content = toContentBlocks(options.content ?? (options.structuredContent ? JSON.stringify(options.structuredContent) : undefined));
    this.structuredContent = options.structuredContent;
    this.isError = options.isError ?? false;
    this.meta = options.meta;
  }

  toWire(): CallToolResult {
    const result: CallToolResult = { content: this.content };
    if (this.structuredContent !== undefined) result.structuredContent = this.structuredContent;
    if (this.isError) result.isError = true;
    if (this.meta !== undefined) result._meta = this.meta;
    return result;
  }
}

/** A tool as registered: its listing, compiled schemas and access rules, all prepared once. */
export interface ToolEntry {
  readonly name: string;
  readonly definition: Tool;
  readonly parameters: CompiledSchema;
  readonly output: CompiledSchema | undefined;
  readonly access: ComponentAccess;
  readonly execute: (args: unknown, ctx: Context) => ToolReturn | Promise<ToolReturn>;
}

export function defineTool(options: ToolOptions<SchemaInput | undefined>): ToolEntry {
  const name = requireName("Tool", options?.name);
  const owner = `Tool "${name}"`;
  requireFunction(owner, "execute", options.execute);
  const parameters = options.parameters === undefined ? NO_PARAMETERS : compileSchema(options.parameters, "input", owner);
  const output = options.outputSchema === undefined ? undefined : compileSchema(options.outputSchema, "output", owner);
  if (output && output.jsonSchema.type !== "object") {
    throw new ComponentDefinitionError(`${owner}: outputSchema must describe an object, because structuredContent is always an object`);
  }
  const definition: Tool = { name, ...presentation(options), inputSchema: parameters.jsonSchema as Tool["inputSchema"] };
  if (output) definition.outputSchema = output.jsonSchema as Tool["outputSchema"];
  if (options.annotations) definition.annotations = options.annotations;
  return {
    name,
    definition,
    parameters,
    output,
    access: componentAccess(options, owner),
    execute: options.execute as ToolEntry["execute"],
  };
}
