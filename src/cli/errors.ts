/** A failure the user can fix (wrong file, bad flag...): reported as one line, exit code 1. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number = 1;
}

/** A command line that does not parse (unknown option, missing argument, bad value): exit code 2. */
export class UsageError extends CliError {
  override name = "UsageError";
  override readonly exitCode: number = 2;
}

export interface ReportOptions {
  /** Print the stack (and causes) instead of one line. */
  debug: boolean;
  /** Strings that must never reach the terminal (tokens, header values). */
  secrets: readonly string[];
}

/** Shorter values ("X-Debug: 1") are not credentials, and masking them would garble messages. */
const MIN_SECRET_LENGTH = 4;

const ANSI = /\u001B\[[0-9;]*m/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/** `fastmcp-ts: <message>` on one line, or the full stack with --debug; secrets are masked either way. */
export function formatError(error: unknown, options: ReportOptions): string {
  const text = options.debug ? describeInDetail(error) : `fastmcp-ts: ${oneLine(messageOf(error))}`;
  return redact(stripAnsi(text), options.secrets);
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : 1;
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function describeInDetail(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(depth === 0 ? `fastmcp-ts: ${text}` : `Caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\n");
}

function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  // Longest first, so a secret that contains another one is masked whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= MIN_SECRET_LENGTH) result = result.split(secret).join("***");
  }
  return result;
}
