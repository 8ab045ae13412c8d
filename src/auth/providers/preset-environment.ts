import { withEnvironmentDefaults, type SettingSpec } from "../settings.js";

/**
 * `options` completed from `FASTMCP_SERVER_AUTH_<prefix>_*`, trying the prefixes in order: the
 * class name first, then the name the reference's v2 releases read (`AUTH0`, `AWS_COGNITO`), so
 * an existing .env keeps working. Explicit options always win.
 */
export function presetSettings<T extends object>(options: T, spec: SettingSpec<T>, ...prefixes: string[]): T {
  return prefixes.reduce((settings, prefix) => withEnvironmentDefaults(prefix, settings, spec), options);
}
