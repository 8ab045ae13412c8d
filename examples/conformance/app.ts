import { FastMCP } from "fastmcp-ts";
import { addElicitationTools } from "./elicitation.js";
import { addPrompts } from "./prompts.js";
import { addResources } from "./resources.js";
import { addContentTools, addInteractiveTools } from "./tools.js";

export interface ConformanceServer {
  readonly mcp: FastMCP;
  /** Changes test://watched-resource and notifies its subscribers. */
  touchWatchedResource(): Promise<void>;
}

/** A FastMCP server with every fixture the conformance suite's server scenarios call. */
export function createConformanceServer(): ConformanceServer {
  const mcp = new FastMCP({ name: "fastmcp-ts-conformance", version: "1.0.0" });
  addContentTools(mcp);
  addInteractiveTools(mcp);
  addElicitationTools(mcp);
  addPrompts(mcp);
  const watched = addResources(mcp);
  return { mcp, touchWatchedResource: watched.tick };
}
