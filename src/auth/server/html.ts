/** Server-rendered pages of the authorization server: escaping and the shared layout. */

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/**
 * No scripts, no framing, nothing loaded from elsewhere. `form-action` is left out on purpose:
 * browsers apply it to the whole redirect chain after a form post, and the chain ends at the
 * client's redirect URI, which may be a native app's own scheme.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; base-uri 'none'; frame-ancestors 'none'";

/** Headers every page carries. */
export function pageHeaders(extra: Record<string, string> = {}): Headers {
  const headers = new Headers({
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    pragma: "no-cache",
    "content-security-policy": PAGE_CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return headers;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d1f23; }
  main { max-width: 26rem; margin: 8vh auto; background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  h1 { font-size: 1.35rem; margin: 0 0 1rem; }
  p { margin: .5rem 0; }
  label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
  input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .55rem; border: 1px solid #c5c8ce; border-radius: 6px; font: inherit; }
  button { font: inherit; padding: .6rem 1.2rem; border-radius: 6px; border: 1px solid #2456d3; background: #2456d3; color: #fff; cursor: pointer; margin-top: 1rem; }
  button.secondary { background: #fff; color: #2456d3; }
  .actions { display: flex; gap: .75rem; }
  .error { color: #a3161b; background: #fdecec; padding: .5rem .75rem; border-radius: 6px; }
  .host { font-family: ui-monospace, monospace; font-size: 1.1rem; font-weight: 700; background: #fff6d6; padding: .15rem .4rem; border-radius: 4px; word-break: break-all; }
  ul.scopes { padding-left: 1.2rem; }
  code { font-family: ui-monospace, monospace; }
  .muted { color: #5c6270; font-size: .9rem; }
`;

/** A complete page. `body` must already be escaped HTML. */
export function renderPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A page for an error that cannot be sent to the client's redirect URI. */
export function errorPage(status: number, title: string, message: string): Response {
  const body = `<h1>${escapeHtml(title)}</h1>\n<p class="error">${escapeHtml(message)}</p>\n<p class="muted">You can close this window and try again from your application.</p>`;
  return new Response(renderPage(title, body), { status, headers: pageHeaders() });
}
