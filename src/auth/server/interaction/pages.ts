import { escapeHtml, renderPage } from "../html.js";
import type { OAuthClientInformation } from "../types.js";

export interface LoginPageInput {
  serverName: string;
  clientName: string;
  action: string;
  transaction: string;
  csrf: string;
  username?: string;
  error?: string;
}

export function loginPage(input: LoginPageInput): string {
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>\n` : "";
  return renderPage(`Sign in to ${input.serverName}`, `<h1>Sign in to ${escapeHtml(input.serverName)}</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> wants to use your account.</p>
${error}<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="txn" value="${escapeHtml(input.transaction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${escapeHtml(input.username ?? "")}" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`);
}

export interface ConsentPageInput {
  serverName: string;
  client: OAuthClientInformation;
  /** Who is signed in; undefined before the person signs in (an OAuth proxy asks first). */
  userName?: string;
  /** Where the person signs in after approving (an OAuth proxy's identity provider). */
  signInWith?: string;
  redirectUri: string;
  scopes: readonly string[];
  scopeDescriptions: Readonly<Record<string, string>>;
  action: string;
  transaction: string;
  csrf: string;
}

/**
 * What the user approves: which application, where the browser will be sent with the code (the
 * redirect host, shown prominently: that is who receives access), and the scopes.
 */
export function consentPage(input: ConsentPageInput): string {
  const clientName = input.client.client_name ?? input.client.client_id;
  const scopes = input.scopes.length === 0
    ? "<p>No specific permissions: basic access to this server.</p>"
    : `<ul class="scopes">\n${input.scopes.map((scope) => `<li><code>${escapeHtml(scope)}</code>${input.scopeDescriptions[scope] ? ` — ${escapeHtml(input.scopeDescriptions[scope])}` : ""}</li>`).join("\n")}\n</ul>`;
  const verified = input.client.metadata_document
    ? `<p class="muted">Application identified by <span class="host">${escapeHtml(new URL(input.client.client_id).host)}</span>.</p>`
    : `<p class="muted">This application registered itself with this server; its name is not verified.</p>`;
  return renderPage(`Authorize ${clientName}`, `<h1>Authorize <span data-testid="client-name">${escapeHtml(clientName)}</span>?</h1>
${input.userName !== undefined ? `<p>Signed in to ${escapeHtml(input.serverName)} as <strong>${escapeHtml(input.userName)}</strong>.</p>` : ""}
<p>If you approve, you will be sent to</p>
<p><span class="host" data-testid="redirect-host">${escapeHtml(redirectTarget(input.redirectUri))}</span></p>
<p>which will be able to act on ${escapeHtml(input.serverName)} for you with these permissions:</p>
${scopes}
${verified}
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="txn" value="${escapeHtml(input.transaction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<div class="actions">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
</div>
</form>
${input.signInWith !== undefined ? `<p class="muted">After you approve, you sign in with ${escapeHtml(input.signInWith)}.</p>\n` : ""}<p class="muted">Only approve applications you recognise and started yourself.</p>`);
}

/** The host (with port) of an http(s) redirect URI; for a native app's own scheme, the scheme. */
export function redirectTarget(redirectUri: string): string {
  const url = new URL(redirectUri);
  if (url.protocol === "http:" || url.protocol === "https:") return url.host;
  return `${url.protocol}${url.host ? `//${url.host}` : ""} (an application on this device)`;
}
