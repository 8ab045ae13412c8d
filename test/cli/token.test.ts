import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FastMCP } from "fastmcp-ts";
import { JWTVerifier, type JwtAlgorithm } from "fastmcp-ts/auth";
import { Client } from "fastmcp-ts/client";
import { INITIALIZE, postRaw, serveHttp as serveInProcess } from "../helpers/http.js";
import { expectOneLineFailure, fixture, killChildren, runCli, serveHttp, type CliResult } from "./helpers.js";

afterEach(killChildren);

const ISSUER = "https://dev.local";
const AUDIENCE = "http://127.0.0.1:8000/mcp";
const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+?-----END PUBLIC KEY-----\n/;

interface TokenJson {
  token: string;
  publicKey: string;
  jwks: { keys: Array<Record<string, string>> };
  algorithm: JwtAlgorithm;
  kid: string;
}

let directory: string;
beforeAll(() => { directory = mkdtempSync(join(tmpdir(), "fastmcp-ts-token-")); });
afterAll(() => { rmSync(directory, { recursive: true, force: true }); });

/** A path in this file's scratch directory. */
function scratch(name: string): string {
  return join(directory, name);
}

async function tokenJson(args: string[]): Promise<TokenJson> {
  const result = await runCli(["token", ...args, "--output", "json"]);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as TokenJson;
}

/** The single line on stdout of a text-mode run. */
function tokenOf(result: CliResult): string {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  return result.stdout.trim();
}

function verifier(publicKey: string, options: { audience?: string; algorithm?: JwtAlgorithm } = {}): JWTVerifier {
  return new JWTVerifier({ publicKey, issuer: ISSUER, audience: options.audience ?? AUDIENCE, algorithm: options.algorithm ?? "RS256" });
}

/** The block of FASTMCP_SERVER_AUTH* lines printed on stderr, as printed. */
function environmentBlock(stderr: string): string {
  const block = /\n(FASTMCP_SERVER_AUTH=JWT\n[\s\S]*?)\n\n/.exec(stderr)?.[1];
  expect(block, stderr).toBeDefined();
  return `${block!}\n`;
}

describe("fastmcp-ts token", () => {
  const args = ["--issuer", ISSUER, "--audience", AUDIENCE, "--scopes", "mcp:read,mcp:write", "--subject", "alice"];

  it("prints a token on stdout that JWTVerifier accepts with the public key printed on stderr", async () => {
    const result = await runCli(["token", ...args]);
    const token = tokenOf(result);
    const publicKey = PEM_BLOCK.exec(result.stderr)?.[0];
    expect(publicKey, result.stderr).toBeDefined();
    const accepted = await verifier(publicKey!).verifyToken(token);
    expect(accepted).toMatchObject({ subject: "alice", scopes: ["mcp:read", "mcp:write"], clientId: "alice" });
    expect(await verifier(publicKey!, { audience: "http://127.0.0.1:9999/mcp" }).verifyToken(token)).toBeNull();
    expect(result.stderr).not.toContain("PRIVATE KEY");
  });

  it("prints a JWTVerifier snippet with the public key, issuer, audience and algorithm", async () => {
    const result = await runCli(["token", ...args, "--algorithm", "ES256"]);
    const publicKey = PEM_BLOCK.exec(result.stderr)![0];
    expect(result.stderr).toContain('new JWTVerifier({');
    expect(result.stderr).toContain(`\n  publicKey: ${JSON.stringify(publicKey)},\n`);
    expect(result.stderr).toContain(`\n  issuer: "${ISSUER}",\n  audience: "${AUDIENCE}",\n  algorithm: "ES256",\n`);
  });

  it("prints environment lines that, pasted in a .env file, make a server run by the CLI accept the token", async () => {
    const minted = await runCli(["token", ...args]);
    const token = tokenOf(minted);
    const block = environmentBlock(minted.stderr);
    expect(parseEnv(block)).toEqual({
      FASTMCP_SERVER_AUTH: "JWT",
      FASTMCP_SERVER_AUTH_JWT_PUBLIC_KEY: PEM_BLOCK.exec(minted.stderr)![0].trimEnd(),
      FASTMCP_SERVER_AUTH_JWT_ISSUER: ISSUER,
      FASTMCP_SERVER_AUTH_JWT_AUDIENCE: AUDIENCE,
      FASTMCP_SERVER_AUTH_JWT_ALGORITHM: "RS256",
    });
    const envFile = scratch("server.env");
    writeFileSync(envFile, block);
    const server = await serveHttp([fixture("server.js"), "--env-file", envFile]);
    const called = await runCli(["call", server.url, "shout", "text=hi", "--token", token]);
    expect(called.code, called.stderr).toBe(0);
    expect(called.stdout).toBe("HI\n");
    expectOneLineFailure(await runCli(["call", server.url, "shout", "text=hi"]), /401|unauthori[sz]ed/i);
  });

  it("--output json prints token, publicKey, jwks, algorithm and kid as one object", async () => {
    const minted = await tokenJson(args);
    expect(Object.keys(minted).sort()).toEqual(["algorithm", "jwks", "kid", "publicKey", "token"]);
    expect(minted.algorithm).toBe("RS256");
    expect(minted.jwks.keys).toHaveLength(1);
    expect(minted.jwks.keys[0]).toMatchObject({ kty: "RSA", kid: minted.kid, alg: "RS256", use: "sig" });
    expect(minted.jwks.keys[0]).not.toHaveProperty("d");
    expect(decodeProtectedHeader(minted.token)).toMatchObject({ alg: "RS256", kid: minted.kid, typ: "JWT" });
    expect(await verifier(minted.publicKey).verifyToken(minted.token)).not.toBeNull();
  });

  it.each([["ES256"], ["EdDSA"]] as const)("--algorithm %s", async (algorithm) => {
    const minted = await tokenJson([...args, "--algorithm", algorithm]);
    expect(minted.algorithm).toBe(algorithm);
    expect(decodeProtectedHeader(minted.token).alg).toBe(algorithm);
    expect(await verifier(minted.publicKey, { algorithm }).verifyToken(minted.token)).toMatchObject({ subject: "alice" });
    const otherKey = (algorithm === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519")).publicKey;
    expect(await verifier(otherKey.export({ type: "spki", format: "pem" }).toString(), { algorithm }).verifyToken(minted.token)).toBeNull();
  });

  it("--expires-in, --claim (JSON when it parses) and --kid", async () => {
    const minted = await tokenJson([
      ...args, "--expires-in", "120", "--kid", "dev-key-1",
      "--claim", "client_id=my-app", "--claim", "admin=true", "--claim", "level=3", "--claim", 'roles=["a","b"]', "--claim", "note=a=b",
    ]);
    const claims = decodeJwt(minted.token);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(claims).toMatchObject({ client_id: "my-app", admin: true, level: 3, roles: ["a", "b"], note: "a=b", sub: "alice", iss: ISSUER, aud: AUDIENCE });
    expect(decodeProtectedHeader(minted.token).kid).toBe("dev-key-1");
    expect(minted.kid).toBe("dev-key-1");
    expect(minted.jwks.keys[0]!.kid).toBe("dev-key-1");
    expect(await verifier(minted.publicKey).verifyToken(minted.token)).toMatchObject({ clientId: "my-app" });
  });

  it("the printed JWKS works as a verifier's jwksUri", async () => {
    const minted = await tokenJson([...args, "--algorithm", "ES256"]);
    const jwksServer = await serveJson(minted.jwks);
    try {
      const { port } = jwksServer.address() as { port: number };
      const remote = new JWTVerifier({ jwksUri: `http://127.0.0.1:${port}/jwks.json`, issuer: ISSUER, audience: AUDIENCE, algorithm: "ES256", onError: () => undefined });
      expect(await remote.verifyToken(minted.token)).toMatchObject({ subject: "alice" });
    } finally {
      jwksServer.close();
    }
  });
});

describe("a FastMCP server using the printed public key", () => {
  it("accepts the token over HTTP and refuses a token minted for another audience", async () => {
    const keyFile = scratch("server-key.pem");
    const first = await runCli(["token", "--issuer", ISSUER, "--audience", AUDIENCE, "--subject", "alice", "--scopes", "mcp:read", "--save-key", keyFile]);
    const token = tokenOf(first);
    const { publicKey } = await tokenJson(["--key", keyFile]);
    const otherAudience = tokenOf(await runCli(["token", "--issuer", ISSUER, "--audience", "https://elsewhere.example/mcp", "--subject", "alice", "--key", keyFile]));

    const mcp = new FastMCP({ name: "jwt-protected", auth: new JWTVerifier({ publicKey, issuer: ISSUER, audience: AUDIENCE }) });
    mcp.tool({ name: "whoami", execute: (_args, ctx) => `${ctx.auth?.subject} ${ctx.auth?.scopes.join(" ")}` });
    await using server = await serveInProcess(mcp);

    await using client = await new Client(server.url!, { auth: token }).connect();
    expect((await client.callTool("whoami")).content).toEqual([{ type: "text", text: "alice mcp:read" }]);

    const refused = await postRaw(server.url!, INITIALIZE, { authorization: `Bearer ${otherAudience}` });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect((await postRaw(server.url!, INITIALIZE, { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

describe("keys", () => {
  it("--save-key writes the private key with mode 0600 and --key signs for the same public key", async () => {
    const keyFile = scratch("saved.pem");
    const saved = await runCli(["token", "--issuer", ISSUER, "--save-key", keyFile]);
    const firstToken = tokenOf(saved);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const pem = readFileSync(keyFile, "utf8");
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(saved.stderr).toContain(`Private key saved to ${keyFile}`);
    expect(saved.stderr).not.toContain("PRIVATE KEY");

    const [again, andAgain] = await Promise.all([tokenJson(["--issuer", ISSUER, "--key", keyFile]), tokenJson(["--issuer", ISSUER, "--key", keyFile])]);
    expect(again.publicKey).toBe(PEM_BLOCK.exec(saved.stderr)![0]);
    expect(again.kid).toBe(andAgain.kid);
    expect(decodeProtectedHeader(firstToken).kid).toBe(again.kid);
    const verify = verifier(again.publicKey);
    expect(await verify.verifyToken(firstToken)).not.toBeNull();
    expect(await verify.verifyToken(again.token)).not.toBeNull();
    expect(await verify.verifyToken(andAgain.token)).not.toBeNull();
    expect(JSON.stringify(again)).not.toContain("PRIVATE KEY");
  });

  it("--save-key refuses to overwrite a file unless --force, which leaves it at mode 0600", async () => {
    const keyFile = scratch("existing.pem");
    writeFileSync(keyFile, "keep me\n", { mode: 0o644 });
    chmodSync(keyFile, 0o644);
    expectOneLineFailure(await runCli(["token", "--save-key", keyFile]), `Key file ${keyFile} already exists: reuse it with --key ${keyFile}, or pass --force to overwrite it`, 1);
    expect(readFileSync(keyFile, "utf8")).toBe("keep me\n");

    const forced = await runCli(["token", "--save-key", keyFile, "--force"]);
    tokenOf(forced);
    expect(readFileSync(keyFile, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it("--key infers the algorithm from the key, and reads traditional PEM formats", async () => {
    const ec = writeKey("ec.pem", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }));
    const rsa = writeKey("rsa.pem", generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }));
    expect((await tokenJson(["--key", ec])).algorithm).toBe("ES256");
    expect((await tokenJson(["--key", rsa])).algorithm).toBe("RS256");
  });
});

describe("bad input: one line, exit code 2 for the command line, 1 for files", () => {
  it.each([
    [["--expires-in", "-5"], '--expires-in must be a positive whole number of seconds, got "-5"'],
    [["--expires-in=0"], '--expires-in must be a positive whole number of seconds, got "0"'],
    [["--expires-in", "1h"], '--expires-in must be a positive whole number of seconds, got "1h"'],
    [["--claim", "admin"], 'Malformed --claim "admin": expected key=value'],
    [["--claim", "=x"], 'Malformed --claim "=x": expected key=value'],
    [["--claim", "aud=https://x"], "--claim aud is not allowed: use --audience"],
    [["--claim", "iat=1"], "--claim iat is not allowed: iat is set when the token is signed"],
    [["--algorithm", "HS256"], "Invalid value for argument: --algorithm (HS256)"],
    [["--key", "a.pem", "--save-key", "b.pem"], "--key and --save-key cannot be used together"],
    [["--force"], "--force only applies to --save-key"],
    [["--issuer", ""], "--issuer needs a value"],
    [["--audience", ","], "--audience needs at least one value"],
    [["alice"], 'Unexpected argument "alice": token takes options only'],
    [["--subjet", "alice"], 'Unknown option --subjet for "token"'],
  ])("%j", async (flags, message) => {
    expectOneLineFailure(await runCli(["token", ...flags]), message, 2);
  });

  it("an unreadable or missing key file", async () => {
    expectOneLineFailure(await runCli(["token", "--key", scratch("missing.pem")]), `Key file not found: ${scratch("missing.pem")}`, 1);
    expectOneLineFailure(await runCli(["token", "--key", directory]), `Could not read key file ${directory}: it is a directory`, 1);
    expectOneLineFailure(await runCli(["token", "--save-key", scratch("no/such/dir.pem")]), "its directory does not exist", 1);
  });

  it("a file that is not a private key", async () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const publicFile = writeKey("public.pem", publicKey.export({ type: "spki", format: "pem" }));
    expectOneLineFailure(await runCli(["token", "--key", publicFile]), `${publicFile} holds a public key or certificate: --key needs the private key`, 1);
    const junk = writeKey("junk.pem", "not a key\n");
    expectOneLineFailure(await runCli(["token", "--key", junk]), `${junk} is not a PEM private key`, 1);
  });

  it("a key of the wrong type for --algorithm, or of a type no algorithm takes", async () => {
    const ec = writeKey("p256.pem", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    expectOneLineFailure(
      await runCli(["token", "--key", ec, "--algorithm", "RS256"]),
      `The key in ${ec} is an EC key on curve P-256, but --algorithm RS256 needs an RSA key of at least 2048 bits (it signs ES256: use --algorithm ES256, or leave --algorithm out)`,
      1,
    );
    const small = writeKey("rsa1024.pem", generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }));
    expectOneLineFailure(await runCli(["token", "--key", small]), `The key in ${small} is an RSA key of 1024 bits: tokens are signed with an RSA key of at least 2048 bits (RS256)`, 1);
    const p384 = writeKey("p384.pem", generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    expectOneLineFailure(await runCli(["token", "--key", p384, "--algorithm", "ES256"]), "is an EC key on curve P-384, but --algorithm ES256 needs an EC key on curve P-256", 1);
  });

  it("never prints the private key, not even with --debug", async () => {
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const body = pem.split("\n").filter((line) => line.length >= 40 && !line.startsWith("-----"));
    const wrongType = writeKey("secret-ec.pem", pem);
    // A key whose base64 body is damaged: Node cannot parse it, and must not echo it.
    const damaged = writeKey("damaged.pem", pem.replace(/\n([A-Za-z0-9+/]{8})/, "\n!!!!!!!!"));
    for (const file of [wrongType, damaged]) {
      const result = await runCli(["token", "--key", file, "--algorithm", "EdDSA", "--debug"]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      for (const line of body) expect(result.stderr).not.toContain(line.slice(8, 40));
    }
  });
});

describe("help", () => {
  it("token --help shows the flags and examples", async () => {
    const result = await runCli(["token", "--help"]);
    expect(result.code).toBe(0);
    for (const text of ["USAGE fastmcp-ts token [OPTIONS]", "--key=<file>", "--save-key=<file>", "--algorithm=<RS256|ES256|EdDSA>", "--claim=<key=value>", "--output=<text|json>", "fastmcp-ts token --issuer https://dev.local"]) {
      expect(result.stdout).toContain(text);
    }
  });
});

function writeKey(name: string, content: string | Buffer): string {
  const path = scratch(name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function serveJson(document: unknown): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document)));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
