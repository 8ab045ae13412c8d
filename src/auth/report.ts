/** Where auth components report trouble they cannot turn into a response (an IdP that is down). */
export function reportToStderr(error: unknown): void {
  process.stderr.write(`[fastmcp-ts] ${error instanceof Error ? error.message : String(error)}\n`);
}
