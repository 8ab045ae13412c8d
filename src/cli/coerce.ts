import { UsageError } from "./errors.js";

/** A JSON Schema, as much of it as coercion looks at. */
interface SchemaNode {
  type?: string | string[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
}

export interface KeyValue {
  readonly key: string;
  readonly raw: string;
}

const TRUE_WORDS = new Set(["true", "yes", "1"]);
const FALSE_WORDS = new Set(["false", "no", "0"]);

/** Splits `key=value` tokens (the value may itself contain "="). */
export function parseKeyValues(tokens: readonly string[]): KeyValue[] {
  return tokens.map((token) => {
    const equals = token.indexOf("=");
    if (equals <= 0) throw new UsageError(`Bad argument "${token}": expected key=value`);
    return { key: token.slice(0, equals), raw: token.slice(equals + 1) };
  });
}

/** Parses the --json flag: one JSON object of arguments. */
export function parseJsonArguments(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--json is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) throw new UsageError(`--json must be a JSON object, got ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`);
  return value;
}

/** Turns `key=value` strings into the types the tool's input schema asks for. */
export function coerceArguments(pairs: readonly KeyValue[], inputSchema: unknown): Record<string, unknown> {
  const properties = (inputSchema as SchemaNode | undefined)?.properties ?? {};
  const args: Record<string, unknown> = {};
  for (const { key, raw } of pairs) {
    args[key] = Object.hasOwn(properties, key) ? coerceValue(key, raw, properties[key]!) : parseLoosely(raw);
  }
  return args;
}

function coerceValue(key: string, raw: string, schema: SchemaNode): unknown {
  const types = typesOf(schema);
  if (types.size === 0) return parseLoosely(raw);
  if (types.has("null") && raw === "null") return null;
  if (types.has("boolean")) {
    if (TRUE_WORDS.has(raw.toLowerCase())) return true;
    if (FALSE_WORDS.has(raw.toLowerCase())) return false;
  }
  const number = raw.trim() === "" ? Number.NaN : Number(raw);
  if (types.has("integer") && Number.isInteger(number)) return number;
  if (types.has("number") && Number.isFinite(number)) return number;
  if (types.has("object") || types.has("array")) {
    const parsed = tryJson(raw);
    if (types.has("object") && isPlainObject(parsed)) return parsed;
    if (types.has("array") && Array.isArray(parsed)) return parsed;
  }
  if (types.has("string")) return raw;
  throw new UsageError(`Argument "${key}" must be ${describeTypes(types)}, got "${raw}"`);
}

/** The JSON types a schema accepts, looking through anyOf/oneOf and inferring from enum/const. */
function typesOf(schema: SchemaNode): Set<string> {
  const types = new Set<string>();
  if (typeof schema.type === "string") types.add(schema.type);
  if (Array.isArray(schema.type)) for (const type of schema.type) types.add(type);
  for (const member of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) for (const type of typesOf(member)) types.add(type);
  if (types.size === 0) {
    const values = schema.enum ?? ("const" in schema ? [schema.const] : []);
    for (const value of values) types.add(value === null ? "null" : typeof value === "number" ? "number" : typeof value);
  }
  return types;
}

function describeTypes(types: Set<string>): string {
  const names = [...types].map((type) => (type === "integer" ? "an integer" : type === "array" ? "a JSON array" : type === "object" ? "a JSON object" : `a ${type}`));
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/** For keys the schema does not describe: JSON when it parses, the plain string otherwise. */
function parseLoosely(raw: string): unknown {
  const parsed = tryJson(raw);
  return parsed === undefined ? raw : parsed;
}

function tryJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
