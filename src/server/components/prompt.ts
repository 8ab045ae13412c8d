import type { ContentBlock, GetPromptResult, PromptArgument, PromptMessage, Prompt } from "@modelcontextprotocol/server";
import type { Context } from "../context.js";
import { ComponentDefinitionError } from "../../errors.js";
import { componentAccess, presentation, requireFunction, requireName, type ComponentAccess, type ComponentOptions } from "./common.js";
import { isContentBlock } from "./content.js";
import type { Completer } from "./resource.js";
import { compileSchema, type CompiledSchema, type InferSchema, type SchemaInput } from "./schema.js";

/** A message a prompt renders: content may be plain text. */
export interface PromptMessageInput {
  role: "user" | "assistant";
  content: string | ContentBlock;
}

/** What a prompt may render: a string (one user message), messages, or a full result. */
export type PromptReturn = string | PromptMessageInput | PromptMessageInput[] | { messages: PromptMessageInput[]; description?: string };

type PromptArgs<A> = A extends PromptArgument[] ? Record<string, string | undefined> : A extends SchemaInput ? InferSchema<A> : Record<string, never>;

export interface PromptOptions<A extends SchemaInput | PromptArgument[] | undefined = undefined> extends ComponentOptions {
  name: string;
  /** The arguments: a list of `{ name, description?, required? }`, or an object schema of strings. */
  arguments?: A;
  /** Completion for arguments, keyed by argument name. */
  complete?: Record<string, Completer>;
  render: (args: PromptArgs<A>, ctx: Context) => PromptReturn | Promise<PromptReturn>;
}

export interface PromptEntry {
  readonly name: string;
  readonly definition: Prompt;
  readonly arguments: readonly PromptArgument[];
  readonly schema: CompiledSchema | undefined;
  readonly complete: Record<string, Completer>;
  readonly access: ComponentAccess;
  readonly render: (args: unknown, ctx: Context) => PromptReturn | Promise<PromptReturn>;
}

export function definePrompt(options: PromptOptions<SchemaInput | PromptArgument[] | undefined>): PromptEntry {
  const name = requireName("Prompt", options?.name);
  const owner = `Prompt "${name}"`;
  requireFunction(owner, "render", options.render);
  let args: PromptArgument[] = [];
  let schema: CompiledSchema | undefined;
  if (Array.isArray(options.arguments)) {
    args = options.arguments.map((arg) => {
      if (typeof arg?.name !== "string" || arg.name.length === 0) throw new ComponentDefinitionError(`${owner}: every argument needs a name`);
      return { ...arg };
    });
  } else if (options.arguments !== undefined) {
    schema = compileSchema(options.arguments, "input", owner);
    args = argumentsFromJsonSchema(schema.jsonSchema, owner);
  }
  for (const key of Object.keys(options.complete ?? {})) {
    if (!args.some((arg) => arg.name === key)) throw new ComponentDefinitionError(`${owner}: cannot complete "${key}", the prompt has no such argument`);
  }
  const definition: Prompt = { name, ...presentation(options) };
  if (args.length > 0) definition.arguments = args;
  return { name, definition, arguments: args, schema, complete: options.complete ?? {}, access: componentAccess(options, owner), render: options.render as PromptEntry["render"] };
}

function argumentsFromJsonSchema(jsonSchema: Record<string, unknown>, owner: string): PromptArgument[] {
  const properties = (jsonSchema.properties ?? {}) as Record<string, { description?: string; type?: unknown }>;
  const required = new Set(Array.isArray(jsonSchema.required) ? (jsonSchema.required as string[]) : []);
  return Object.entries(properties).map(([name, property]) => {
    if (property.type !== undefined && property.type !== "string") {
      throw new ComponentDefinitionError(`${owner}: argument "${name}" must be a string (MCP prompt arguments are strings); use z.coerce for numbers`);
    }
    const arg: PromptArgument = { name, required: required.has(name) };
    if (property.description !== undefined) arg.description = property.description;
    return arg;
  });
}

/** Converts what a renderer returned into a `prompts/get` result. */
export function toPromptResult(value: PromptReturn, description: string | undefined): GetPromptResult {
  let messages: PromptMessageInput[];
  let resultDescription = description;
  if (typeof value === "string") messages = [{ role: "user", content: value }];
  else if (Array.isArray(value)) messages = value;
  else if ("messages" in value && Array.isArray(value.messages)) {
    messages = value.messages;
    resultDescription = value.description ?? description;
  } else messages = [value as PromptMessageInput];
  const result: GetPromptResult = { messages: messages.map(toPromptMessage) };
  if (resultDescription !== undefined) result.description = resultDescription;
  return result;
}

function toPromptMessage(message: PromptMessageInput): PromptMessage {
  if (message?.role !== "user" && message?.role !== "assistant") {
    throw new TypeError(`prompt messages need a role of "user" or "assistant", got ${JSON.stringify(message?.role)}`);
  }
  const content = typeof message.content === "string" ? { type: "text" as const, text: message.content } : message.content;
  if (!isContentBlock(content)) throw new TypeError("prompt message content must be a string or a content block");
  return { role: message.role, content };
}
