import * as z from "zod";
import { audioContent, embeddedResource, imageContent, ToolError, type FastMCP } from "fastmcp-ts";
import { RED_PIXEL_PNG, SILENT_WAV } from "./media.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The input schema of `json_schema_2020_12_tool`, exactly as the json-schema-2020-12 scenario
 * expects to find it in tools/list (SEP-1613, SEP-2106): every keyword must survive untouched.
 */
export const JSON_SCHEMA_2020_12 = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  $defs: {
    address: {
      $anchor: "addressDef",
      type: "object",
      properties: { street: { type: "string" }, city: { type: "string" } },
    },
  },
  properties: {
    name: { type: "string" },
    address: { $ref: "#/$defs/address" },
    contactMethod: { type: "string", enum: ["phone", "email"] },
    phone: { type: "string" },
    email: { type: "string" },
  },
  allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
  if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
  then: { required: ["phone"] },
  else: { required: ["email"] },
  additionalProperties: false,
};

/** Tools returning each kind of content (tools-call-* scenarios). */
export function addContentTools(mcp: FastMCP): void {
  mcp.tool({
    name: "test_simple_text",
    description: "Returns a simple text response",
    execute: () => "This is a simple text response for testing.",
  });
  mcp.tool({
    name: "test_image_content",
    description: "Returns an image (a 1x1 red PNG)",
    execute: () => imageContent(RED_PIXEL_PNG, "image/png"),
  });
  mcp.tool({
    name: "test_audio_content",
    description: "Returns audio (a one-sample WAV file)",
    execute: () => audioContent(SILENT_WAV, "audio/wav"),
  });
  mcp.tool({
    name: "test_embedded_resource",
    description: "Returns an embedded text resource",
    execute: () => embeddedResource("test://embedded-resource", "This is an embedded resource content.", "text/plain"),
  });
  mcp.tool({
    name: "test_multiple_content_types",
    description: "Returns text, an image and an embedded resource together",
    execute: () => [
      { type: "text", text: "Multiple content types test:" },
      imageContent(RED_PIXEL_PNG, "image/png"),
      embeddedResource("test://mixed-content-resource", JSON.stringify({ test: "data", value: 123 }), "application/json"),
    ],
  });
  mcp.tool({
    name: "test_error_handling",
    description: "Always fails, to test tool error reporting",
    execute: () => {
      throw new ToolError("This tool intentionally returns an error for testing");
    },
  });
  mcp.tool({
    name: "json_schema_2020_12_tool",
    description: "Tool with JSON Schema 2020-12 features",
    parameters: JSON_SCHEMA_2020_12,
    execute: (args) => `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`,
  });
}

/** Tools that talk back to the client while they run (logging, progress, sampling, SSE polling). */
export function addInteractiveTools(mcp: FastMCP): void {
  mcp.tool({
    name: "test_tool_with_logging",
    description: "Sends three info log messages while it runs",
    execute: async (_args, ctx) => {
      await ctx.log.info("Tool execution started");
      await sleep(50);
      await ctx.log.info("Tool processing data");
      await sleep(50);
      await ctx.log.info("Tool execution completed");
      return "Tool with logging executed successfully";
    },
  });
  mcp.tool({
    name: "test_tool_with_progress",
    description: "Reports progress 0, 50 and 100 out of 100",
    execute: async (_args, ctx) => {
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await sleep(50);
        await ctx.reportProgress(progress, 100, `Completed step ${progress} of 100`);
      }
      return "Progress reporting completed";
    },
  });
  mcp.tool({
    name: "test_sampling",
    description: "Asks the client's LLM to answer a prompt (sampling)",
    parameters: z.object({ prompt: z.string().describe("The prompt to send to the LLM") }),
    execute: async ({ prompt }, ctx) => {
      const result = await ctx.sample(prompt, { maxTokens: 100 });
      const text = result.content.type === "text" ? result.content.text : JSON.stringify(result.content);
      return `LLM response: ${text}`;
    },
  });
  mcp.tool({
    name: "test_reconnection",
    description: "Closes its SSE stream mid-call; the result arrives after the client reconnects (SEP-1699)",
    execute: async (_args, ctx) => {
      ctx.closeSSEStream();
      await sleep(100);
      return "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.";
    },
  });
}
