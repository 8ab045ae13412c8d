import * as z from "zod";
import type { ElicitResult, FastMCP } from "fastmcp-ts";

/** Form schema of test_elicitation (tools-call-elicitation). */
const USER_INFO = {
  type: "object",
  properties: {
    username: { type: "string", description: "User's response" },
    email: { type: "string", description: "User's email address" },
  },
  required: ["username", "email"],
};

/** SEP-1034: a default value for every primitive type. */
const WITH_DEFAULTS = {
  type: "object",
  properties: {
    name: { type: "string", description: "User name", default: "John Doe" },
    age: { type: "integer", description: "User age", default: 30 },
    score: { type: "number", description: "User score", default: 95.5 },
    status: { type: "string", description: "User status", enum: ["active", "inactive", "pending"], default: "active" },
    verified: { type: "boolean", description: "Verification status", default: true },
  },
};

/** SEP-1330: the five enum variants. */
const ENUMS = {
  type: "object",
  properties: {
    untitledSingle: { type: "string", description: "Select one option", enum: ["option1", "option2", "option3"] },
    titledSingle: {
      type: "string",
      description: "Select one option with titles",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Select one option (legacy)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Select multiple options",
      minItems: 1,
      maxItems: 3,
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Select multiple options with titles",
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
};

function describe(prefix: string, result: ElicitResult<unknown>): string {
  const content = result.action === "accept" ? result.content : {};
  return `${prefix}: action=${result.action}, content=${JSON.stringify(content)}`;
}

/** Tools that ask the user for input through the client (elicitation scenarios). */
export function addElicitationTools(mcp: FastMCP): void {
  mcp.tool({
    name: "test_elicitation",
    description: "Asks the user for a username and an email address (elicitation)",
    parameters: z.object({ message: z.string().describe("The message to show the user") }),
    execute: async ({ message }, ctx) => describe("User response", await ctx.elicit(message, USER_INFO)),
  });
  mcp.tool({
    name: "test_elicitation_sep1034_defaults",
    description: "Elicitation whose fields all carry default values (SEP-1034)",
    execute: async (_args, ctx) =>
      describe("Elicitation completed", await ctx.elicit("Please review and update the form fields with defaults", WITH_DEFAULTS)),
  });
  mcp.tool({
    name: "test_elicitation_sep1330_enums",
    description: "Elicitation with every enum schema variant (SEP-1330)",
    execute: async (_args, ctx) =>
      describe("Elicitation completed", await ctx.elicit("Please select options from the enum fields", ENUMS)),
  });
}
