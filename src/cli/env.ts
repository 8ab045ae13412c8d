import { existsSync } from "node:fs";
import { CliError, messageOf } from "./errors.js";

/**
 * Loads `--env-file` (when given) and then `./.env` (when present). Like dotenv and Node's own
 * --env-file, a file never overrides a variable that is already set, so the real environment wins
 * over both files and the explicit --env-file wins over the implicit .env.
 */
export function loadEnvironment(envFile: string | undefined): void {
  if (envFile !== undefined) {
    if (!existsSync(envFile)) throw new CliError(`Env file not found: ${envFile}`);
    loadEnvFile(envFile);
  }
  if (existsSync(".env")) loadEnvFile(".env");
}

function loadEnvFile(path: string): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    throw new CliError(`Could not read env file ${path}: ${messageOf(error)}`, { cause: error });
  }
}
