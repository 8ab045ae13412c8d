import type { StandardSchemaV1 } from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import * as z from "zod";
import { ComponentDefinitionError } from "../../errors.js";

export type JsonSchema = Record<string, unknown>;

/** Tool parameters and output schemas: any Standard Schema (zod v4, valibot, arktype...) or plain JSON Schema. */
export type SchemaInput = StandardSchemaV1 | JsonSchema;

/** The arguments a handler receives for a given parameters schema. */
export type InferSchema<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : S extends undefined ? Record<string, never> : Record<string, unknown>;

export type ValidationResult<T = unknown> = { ok: true; value: T } | { ok: false; message: string };

/** A schema prepared once at registration: its JSON Schema for listings and a validator for calls. */
export interface CompiledSchema {
  readonly jsonSchema: JsonSchema;
  /** Synchronous when the underlying library validates synchronously (zod, JSON Schema). */
  validate(value: unknown): ValidationResult | Promise<ValidationResult>;
}

const JSON_SCHEMA_TARGET = "draft-2020-12";
let sharedJsonSchemaValidator: AjvJsonSchemaValidator | undefined;

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (typeof value === "object" || typeof value === "function") && value !== null && "~standard" in value;
}

/**
 * Prepares a schema for a component. `io` says which side of a transform the JSON Schema describes:
 * what the client sends (`input`) or what the handler returns (`output`).
 */
export function compileSchema(schema: SchemaInput, io: "input" | "output", owner: string): CompiledSchema {
  const jsonSchema = isStandardSchema(schema) ? standardToJsonSchema(schema, io, owner) : { ...schema };
  if (io === "input") requireObjectRoot(jsonSchema, owner);
  const validate = isStandardSchema(schema) ? standardValidator(schema) : jsonSchemaValidator(jsonSchema, owner);
  return { jsonSchema, validate };
}

/** The schema of a component that declares no parameters: an object with no properties. */
export const NO_PARAMETERS: CompiledSchema = {
  jsonSchema: { type: "object", properties: {} },
  validate: (value) => ({ ok: true, value: value ?? {} }),
};

function standardToJsonSchema(schema: StandardSchemaV1, io: "input" | "output", owner: string): JsonSchema {
  const std = schema["~standard"] as StandardSchemaV1["~standard"] & {
    jsonSchema?: Record<"input" | "output", (options: { target: string }) => JsonSchema>;
  };
  try {
    if (std.jsonSchema) return std.jsonSchema[io]({ target: JSON_SCHEMA_TARGET });
    if (std.vendor === "zod" && "_zod" in (schema as object)) {
      return z.toJSONSchema(schema as unknown as z.ZodType, { target: JSON_SCHEMA_TARGET, io }) as JsonSchema;
    }
  } catch (error) {
    throw new ComponentDefinitionError(`${owner}: its schema cannot be expressed as JSON Schema (${(error as Error).message})`);
  }
  throw new ComponentDefinitionError(
    `${owner}: schema library "${std.vendor}" does not implement Standard JSON Schema; pass a JSON Schema object instead`,
  );
}

function requireObjectRoot(jsonSchema: JsonSchema, owner: string): void {
  if (jsonSchema.type === undefined) jsonSchema.type = "object";
  if (jsonSchema.type !== "object") {
    throw new ComponentDefinitionError(`${owner}: parameters must describe an object (got type ${JSON.stringify(jsonSchema.type)}); wrap them in z.object({...})`);
  }
}

function standardValidator(schema: StandardSchemaV1): CompiledSchema["validate"] {
  const validate = schema["~standard"].validate;
  return (value) => {
    const result = validate(value);
    return result instanceof Promise ? result.then(toValidationResult) : toValidationResult(result);
  };
}

function toValidationResult(result: StandardSchemaV1.Result<unknown>): ValidationResult {
  if (!result.issues) return { ok: true, value: result.value };
  return { ok: false, message: result.issues.map(describeIssue).join("; ") };
}

function describeIssue(issue: StandardSchemaV1.Issue): string {
  const path = (issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment));
  return path.length > 0 ? `${path.join(".")}: ${issue.message}` : issue.message;
}

function jsonSchemaValidator(jsonSchema: JsonSchema, owner: string): CompiledSchema["validate"] {
  sharedJsonSchemaValidator ??= new AjvJsonSchemaValidator();
  let check: ReturnType<AjvJsonSchemaValidator["getValidator"]>;
  try {
    check = sharedJsonSchemaValidator.getValidator(jsonSchema as never);
  } catch (error) {
    throw new ComponentDefinitionError(`${owner}: invalid JSON Schema (${(error as Error).message})`);
  }
  return (value) => {
    const result = check(value);
    return result.valid ? { ok: true, value: result.data } : { ok: false, message: describeAjvMessage(result.errorMessage) };
  };
}

/** AJV reports paths as `/a/b`; report them as `a.b` like the Standard Schema path does. */
function describeAjvMessage(message: string | undefined): string {
  if (!message) return "invalid arguments";
  return message.replace(/(^|, )data\/?([\w/]*)\s/g, (_m, sep: string, path: string) => `${sep}${path ? `${path.replaceAll("/", ".")}: ` : ""}`);
}
