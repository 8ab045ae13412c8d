import { FastMCPError } from "../../errors.js";

/** Sends the user to an authorization URL. */
export type OpenBrowser = (url: string) => void | Promise<void>;

/**
 * Opens `url` in the system browser (the `open` package: `xdg-open`, `open` or `start`, run
 * without a shell). Only http(s) URLs: an authorization server could otherwise have us launch
 * `file:` or an application's own scheme.
 */
export async function openSystemBrowser(url: string): Promise<void> {
  assertWebUrl(url);
  const { default: open } = await import("open");
  const child = await open(url, { wait: false });
  child.on("error", () => undefined);
  child.unref();
}

export function assertWebUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new FastMCPError("The authorization server gave an authorization URL that is not a URL");
  }
  if (protocol !== "https:" && protocol !== "http:") throw new FastMCPError(`Refusing to open an authorization URL with the scheme ${protocol}`);
}
