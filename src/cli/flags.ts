import type { ArgsDef } from "citty";
import { UsageError } from "./errors.js";

/** Flags every command accepts. */
export const commonFlags = {
  debug: { type: "boolean", description: "On failure, print the full stack trace instead of one line" },
} as const satisfies ArgsDef;

/** Flags for reaching a server given as a URL or a file (list, call). */
export const connectionFlags = {
  token: { type: "string", description: "Bearer token for an HTTP server (sent as Authorization: Bearer <token>)", valueHint: "token" },
  header: { type: "string", alias: "H", description: "Extra HTTP header, repeatable", valueHint: "Name: value" },
  "env-file": { type: "string", description: "Load environment variables from this file before loading a server file", valueHint: "path" },
  auth: { type: "string", description: "oauth: log in with OAuth, reusing the tokens of fastmcp-ts login (and refreshing them); logs in when there are none", valueHint: "oauth" },
  browser: { type: "boolean", default: true, description: "With --auth oauth: open the system browser when a login is needed", negativeDescription: "With --auth oauth: only print the login URL (headless machines)" },
} as const satisfies ArgsDef;

/**
 * Every value of a flag that may be repeated (citty keeps only the last one).
 * `names` are the spellings, e.g. ["--header", "-H"].
 */
export function collectRepeated(rawArgs: readonly string[], names: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") break;
    const inline = names.find((name) => token.startsWith(`${name}=`));
    if (inline) {
      values.push(token.slice(inline.length + 1));
    } else if (names.includes(token)) {
      const value = rawArgs[i + 1];
      if (value === undefined) throw new UsageError(`${token} needs a value`);
      values.push(value);
      i++;
    }
  }
  return values;
}

/** The first option in rawArgs that the command does not define (citty silently accepts them). */
export function findUnknownOption(rawArgs: readonly string[], argsDef: ArgsDef): string | undefined {
  const { known, takesValue } = spellings(argsDef);
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") return undefined;
    if (!token.startsWith("-") || token === "-") continue;
    const [flag] = token.split("=", 1) as [string];
    if (!known.has(flag)) return flag;
    if (takesValue.has(flag) && !token.includes("=")) i++;
  }
  return undefined;
}

function spellings(argsDef: ArgsDef): { known: Set<string>; takesValue: Set<string> } {
  const known = new Set(["--help", "-h"]);
  const takesValue = new Set<string>();
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === "positional") continue;
    const aliases = "alias" in def && def.alias !== undefined ? [def.alias].flat() : [];
    const forms = [`--${name}`, ...aliases.map((alias) => (alias.length === 1 ? `-${alias}` : `--${alias}`))];
    if (def.type === "boolean") forms.push(`--no-${name}`);
    for (const form of forms) {
      known.add(form);
      if (def.type === "string" || def.type === "enum") takesValue.add(form);
    }
  }
  return { known, takesValue };
}

/** Parses "Name: value"; the value is never echoed in errors (it is often a credential). */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  const name = colon > 0 ? text.slice(0, colon).trim() : "";
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError('Malformed --header: expected "Name: value"');
  return [name, text.slice(colon + 1).trim()];
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (text.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be an integer between 0 and 65535, got "${text}"`);
  }
  return port;
}

/** Values of --token, --header and --client-secret on the command line: masked in every error message. */
export function secretsIn(rawArgs: readonly string[]): string[] {
  const secrets: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") break;
    for (const flag of ["--token", "--header", "-H", "--client-secret"]) {
      const value = token === flag ? rawArgs[i + 1] : token.startsWith(`${flag}=`) ? token.slice(flag.length + 1) : undefined;
      if (value === undefined) continue;
      secrets.push(value);
      if ((flag === "--header" || flag === "-H") && value.includes(":")) secrets.push(value.slice(value.indexOf(":") + 1).trim());
    }
  }
  return secrets;
}
