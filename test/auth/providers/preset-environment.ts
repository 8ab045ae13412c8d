import { afterEach, beforeEach } from "vitest";

/**
 * Each test starts without any FASTMCP_SERVER_AUTH* variable (a developer's shell may set some)
 * and leaves the environment as it found it.
 */
export function isolateAuthEnvironment(): (vars: Record<string, string>) => void {
  let saved: NodeJS.ProcessEnv = {};
  beforeEach(() => {
    saved = { ...process.env };
    for (const key of Object.keys(process.env)) if (key.startsWith("FASTMCP_SERVER_AUTH")) delete process.env[key];
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });
  return (vars) => void Object.assign(process.env, vars);
}
