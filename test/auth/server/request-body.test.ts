/**
 * readBodyText: a body with a Content-Length is read in one piece (no web stream on Node), a
 * chunked one counted as it streams; either way nothing over the limit is accepted, whatever the
 * Content-Length header says.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { BodyError, readBodyText } from "../../../src/auth/server/endpoints/request-body.js";

const LIMIT = 100;

function app(): Hono {
  const hono = new Hono();
  hono.post("/", async (c) => {
    try {
      return c.text(await readBodyText(c, LIMIT));
    } catch (error) {
      if (error instanceof BodyError) return c.text(error.description, error.status);
      throw error;
    }
  });
  return hono;
}

function post(body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(app().request("/", { method: "POST", body, headers, duplex: "half" } as RequestInit));
}

function stream(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });
}

describe("readBodyText", () => {
  it("reads a body with a Content-Length", async () => {
    const response = await post("a=1&b=é", { "content-length": String(Buffer.byteLength("a=1&b=é")) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("a=1&b=é");
  });

  it("reads a body of exactly the limit", async () => {
    const response = await post("x".repeat(LIMIT), { "content-length": String(LIMIT) });
    expect(await response.text()).toBe("x".repeat(LIMIT));
  });

  it("refuses a declared length over the limit before reading", async () => {
    expect((await post("x".repeat(LIMIT + 1), { "content-length": String(LIMIT + 1) })).status).toBe(413);
  });

  it("refuses a body longer than the limit whose Content-Length claims less", async () => {
    expect((await post("x".repeat(LIMIT * 5), { "content-length": "10" })).status).toBe(413);
  });

  it("counts bytes, not characters", async () => {
    const text = "é".repeat(60);
    expect((await post(text, { "content-length": "60" })).status).toBe(413);
  });

  it("reads a streamed body without a Content-Length, and refuses one over the limit", async () => {
    const small = await post(stream("a=1", "&b=2"));
    expect(await small.text()).toBe("a=1&b=2");
    expect((await post(stream("x".repeat(60), "x".repeat(60)))).status).toBe(413);
  });
});
