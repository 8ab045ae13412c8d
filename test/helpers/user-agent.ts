/**
 * A scripted browser for authorization flows: it follows redirects by hand, keeps cookies,
 * submits login and consent forms (oidc-provider's development pages, LocalOAuthProvider's
 * pages), and stops at the client's redirect URI without loading it (unless told to `deliver`).
 */

export interface AuthorizationOutcome {
  /** The redirect URI's query: `code`, `state`, `iss`, or `error` and `error_description`. */
  params: URLSearchParams;
  /** The interaction prompts answered on the way (`login`, `consent`), in order. */
  prompts: string[];
  /** With `deliver`: what the redirect URI answered when the agent loaded it. */
  delivered?: { url: string; status: number; body: string };
}

export interface UserAgentOptions {
  /** What the login form is filled with (`login` or `username`); oidc-provider's dev login takes any pair. */
  login?: string;
  password?: string;
  /** Which submit button of a form with several (`name="action"`) is pressed. Default `approve`. */
  decision?: "approve" | "deny";
  /**
   * Load the redirect URI (a GET, as a browser would) instead of stopping before it: for a client
   * that really listens there, such as the conformance suite's callback server. Default false.
   */
  deliver?: boolean;
}

const MAX_STEPS = 20;

export class UserAgent {
  private readonly cookies = new CookieJar();
  private readonly login: string;
  private readonly password: string;
  private readonly decision: string;
  private readonly deliver: boolean;
  /** Every page the agent was shown (status and HTML), in order. */
  readonly pages: Array<{ url: string; status: number; html: string }> = [];

  constructor(options: UserAgentOptions = {}) {
    this.login = options.login ?? "alice";
    this.password = options.password ?? "any password";
    this.decision = options.decision ?? "approve";
    this.deliver = options.deliver ?? false;
  }

  /** Visits `authorizationUrl` and answers every page until the browser is sent to `redirectUri`. */
  async authorize(authorizationUrl: URL | string, redirectUri: string): Promise<AuthorizationOutcome> {
    const prompts: string[] = [];
    let request: PageRequest = { url: new URL(authorizationUrl), method: "GET" };
    for (let step = 0; step < MAX_STEPS; step++) {
      const response = await this.send(request);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        const next = new URL(location, request.url);
        if (sameEndpoint(next, redirectUri)) {
          if (!this.deliver) return { params: next.searchParams, prompts };
          const delivered = await fetch(next, { headers: { accept: "text/html" }, redirect: "manual" });
          return { params: next.searchParams, prompts, delivered: { url: next.href, status: delivered.status, body: await delivered.text() } };
        }
        request = { url: next, method: "GET" };
        continue;
      }
      const page = await response.text();
      this.pages.push({ url: request.url.href, status: response.status, html: page });
      const form = response.status === 200 ? parseForm(page) : undefined;
      if (!form) throw new Error(`the authorization server answered ${response.status} at ${request.url.href}: ${textOf(page)}`);
      const fields = new URLSearchParams();
      for (const input of form.inputs) fields.set(input.name, this.valueFor(input));
      const button = form.buttons.find((b) => b.value === this.decision) ?? form.buttons[0];
      if (button) fields.set(button.name, button.value);
      // oidc-provider's pages name their prompt; others are told apart by what they ask for.
      const prompt = fields.get("prompt") ?? promptOf(form);
      if (prompt) prompts.push(prompt);
      request = { url: new URL(form.action, request.url), method: "POST", body: fields };
    }
    throw new Error(`no redirect to ${redirectUri} after ${MAX_STEPS} pages`);
  }

  /** One GET with this browser's cookies, no redirect followed (delivering a callback by hand, say). */
  async visit(url: URL | string): Promise<Response> {
    return this.send({ url: new URL(url), method: "GET" });
  }

  private valueFor(input: FormInput): string {
    if (input.name === "login" || input.name === "username") return this.login;
    if (input.name === "password") return this.password;
    return input.value;
  }

  private async send(request: PageRequest): Promise<Response> {
    const headers: Record<string, string> = { accept: "text/html" };
    const cookie = this.cookies.header(request.url);
    if (cookie) headers.cookie = cookie;
    if (request.body) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(request.url, { method: request.method, headers, body: request.body, redirect: "manual" });
    this.cookies.store(request.url, response.headers.getSetCookie());
    return response;
  }
}

interface PageRequest {
  url: URL;
  method: "GET" | "POST";
  body?: URLSearchParams;
}

/** `login` for a form asking for a password, `consent` for one with approve and deny buttons. */
function promptOf(form: { inputs: FormInput[]; buttons: FormInput[] }): string | undefined {
  if (form.inputs.some((input) => input.name === "password")) return "login";
  const decisions = form.buttons.map((button) => button.value);
  if (decisions.includes("approve") && decisions.includes("deny")) return "consent";
  return undefined;
}

function sameEndpoint(url: URL, redirectUri: string): boolean {
  const expected = new URL(redirectUri);
  return url.origin === expected.origin && url.pathname === expected.pathname;
}

interface FormInput {
  name: string;
  value: string;
}

/** The first form of a page: its action, its named inputs, and its named submit buttons. */
function parseForm(html: string): { action: string; inputs: FormInput[]; buttons: FormInput[] } | undefined {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const action = attribute(form[1]!, "action");
  if (action === undefined) return undefined;
  const inputs: FormInput[] = [];
  for (const [, attributes] of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    const name = attribute(attributes!, "name");
    if (name !== undefined) inputs.push({ name, value: attribute(attributes!, "value") ?? "" });
  }
  const buttons: FormInput[] = [];
  for (const [, attributes] of form[2]!.matchAll(/<button\b([^>]*)>/gi)) {
    const name = attribute(attributes!, "name");
    if (name !== undefined) buttons.push({ name, value: attribute(attributes!, "value") ?? "" });
  }
  return { action, inputs, buttons };
}

function attribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, "i").exec(attributes);
  return match ? decodeEntities(match[1]!) : undefined;
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, code: string) => {
    if (code[0] === "#") return String.fromCodePoint(code[1] === "x" || code[1] === "X" ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10));
    return named[code.toLowerCase()] ?? entity;
  });
}

/** A page's visible text, shortened: enough to say why an error page appeared. */
function textOf(html: string): string {
  return html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** Cookies of one host (the authorization server), matched by path as browsers do. */
class CookieJar {
  private readonly cookies = new Map<string, Cookie>();

  store(url: URL, headers: readonly string[]): void {
    for (const header of headers) {
      const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
      const separator = pair.indexOf("=");
      if (separator <= 0) continue;
      const cookie: Cookie = { name: pair.slice(0, separator), value: pair.slice(separator + 1), path: defaultPath(url) };
      let expired = false;
      for (const attribute of attributes) {
        const [key = "", value = ""] = attribute.split("=", 2);
        const lower = key.toLowerCase();
        if (lower === "path" && value.startsWith("/")) cookie.path = value;
        if (lower === "max-age" && Number(value) <= 0) expired = true;
        if (lower === "expires" && Date.parse(value) <= Date.now()) expired = true;
      }
      const key = `${cookie.name}\u0000${cookie.path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, cookie);
    }
  }

  header(url: URL): string {
    return [...this.cookies.values()]
      .filter((cookie) => pathMatches(url.pathname, cookie.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join("; ");
  }
}

function defaultPath(url: URL): string {
  const slash = url.pathname.lastIndexOf("/");
  return slash <= 0 ? "/" : url.pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}
