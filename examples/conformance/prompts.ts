import * as z from "zod";
import { embeddedResource, imageContent, type FastMCP } from "fastmcp-ts";
import { RED_PIXEL_PNG } from "./media.js";

/** Completion candidates for test_prompt_with_arguments (completion-complete). */
const SUGGESTIONS = ["paris", "park", "party", "test", "testing", "test-value"];

const suggest = (value: string) => SUGGESTIONS.filter((candidate) => candidate.startsWith(value));

/** Prompts of the prompts-* and completion-complete scenarios. */
export function addPrompts(mcp: FastMCP): void {
  mcp.prompt({
    name: "test_simple_prompt",
    title: "Simple Test Prompt",
    description: "A simple prompt without arguments",
    render: () => "This is a simple prompt for testing.",
  });
  mcp.prompt({
    name: "test_prompt_with_arguments",
    title: "Prompt With Arguments",
    description: "A prompt with two required arguments",
    arguments: z.object({
      arg1: z.string().describe("First test argument"),
      arg2: z.string().describe("Second test argument"),
    }),
    complete: { arg1: suggest, arg2: suggest },
    render: ({ arg1, arg2 }) => `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`,
  });
  mcp.prompt({
    name: "test_prompt_with_embedded_resource",
    title: "Prompt With Embedded Resource",
    description: "A prompt that embeds the resource it is given",
    arguments: z.object({ resourceUri: z.string().describe("URI of the resource to embed") }),
    render: ({ resourceUri }) => [
      { role: "user", content: embeddedResource(resourceUri, "Embedded resource content for testing.", "text/plain") },
      { role: "user", content: "Please process the embedded resource above." },
    ],
  });
  mcp.prompt({
    name: "test_prompt_with_image",
    title: "Prompt With Image",
    description: "A prompt that includes an image",
    render: () => [
      { role: "user", content: imageContent(RED_PIXEL_PNG, "image/png") },
      { role: "user", content: "Please analyze the image above." },
    ],
  });
}
