import { AuthConfigurationError } from "./urls.js";

/** How one constructor option is read from `FASTMCP_SERVER_AUTH_<PREFIX>_<PARAM>`. */
export type SettingKind = "string" | "list" | "number" | "boolean";

export type SettingSpec<T> = { [K in keyof T]?: { env: string; kind: SettingKind } };

const PREFIX = "FASTMCP_SERVER_AUTH_";

/** The variable that supplies a provider option, e.g. FASTMCP_SERVER_AUTH_DESCOPEPROVIDER_PROJECT_ID. */
export function variableName(provider: string, param: string): string {
  return `${PREFIX}${provider}_${param}`;
}

/**
 * `options` completed with defaults from the environment: for each option left undefined, the
 * matching variable, parsed by kind. Explicit arguments always win. A malformed value fails now,
 * naming the variable and what was expected.
 */
export function withEnvironmentDefaults<T extends object>(provider: string, options: T, spec: SettingSpec<T>, env: NodeJS.ProcessEnv = process.env): T {
  const completed = { ...options } as Record<string, unknown>;
  for (const [key, setting] of Object.entries(spec) as Array<[string, { env: string; kind: SettingKind }]>) {
    if (completed[key] !== undefined) continue;
    const name = variableName(provider, setting.env);
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") continue;
    completed[key] = parseSetting(raw.trim(), setting.kind, name);
  }
  return completed as T;
}

/** A required option, or an error naming both the option and the variable that could supply it. */
export function required<V>(value: V | undefined, option: string, provider: string, param: string, owner: string): V {
  if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) {
    throw new AuthConfigurationError(`${owner} needs ${option}: pass it, or set ${variableName(provider, param)}`);
  }
  return value;
}

function parseSetting(raw: string, kind: SettingKind, name: string): unknown {
  switch (kind) {
    case "string": return raw;
    case "list": return parseList(raw, name);
    case "number": {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new AuthConfigurationError(`${name} must be a number, got ${JSON.stringify(raw)}`);
      return value;
    }
    case "boolean": {
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      throw new AuthConfigurationError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
    }
  }
}

/** A list as a JSON array (`["a","b"]`) or separated by commas and/or spaces (`a, b` / `a b`). */
export function parseList(raw: string, name: string): string[] {
  if (raw.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new AuthConfigurationError(`${name} must be a JSON array of strings or a comma/space separated list, got ${JSON.stringify(raw)}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
      throw new AuthConfigurationError(`${name} must be a JSON array of strings, got ${JSON.stringify(raw)}`);
    }
    return parsed.map((item) => item.trim()).filter(Boolean);
  }
  return raw.split(/[\s,]+/).filter(Boolean);
}
