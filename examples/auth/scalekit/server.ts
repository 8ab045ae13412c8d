/**
 * The Scalekit todo server (the twin of seed-scalekit-oauth-skill): Scalekit is the authorization
 * server, this stateless server validates its tokens, and each tool checks its own scope with
 * getAccessToken(), as the seed does.
 *
 * .env:
 *   PORT=3002
 *   SCALEKIT_ENVIRONMENT_URL=https://your-env.scalekit.com
 *   SCALEKIT_CLIENT_ID=your_client_id
 *   SCALEKIT_RESOURCE_ID=res_your_resource_id
 *   MCP_URL=http://localhost:3002/
 *
 *   npx tsx examples/auth/scalekit/server.ts      (or: npx fastmcp-ts run examples/auth/scalekit/server.ts --transport http --port 3002)
 *
 * Declaring `scopes: ["todo:write"]` on a tool instead answers a missing scope with HTTP 403, which
 * MCP clients follow by asking the user for the wider grant; the seed's in-tool check is kept here
 * to match its behaviour (an `{ error }` result).
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { FastMCP, getAccessToken } from "fastmcp-ts";
import { ScalekitProvider } from "fastmcp-ts/auth/providers/scalekit";

// 5-line OAuth setup.
export const mcp = new FastMCP({
  name: "Todo Server",
  statelessHttp: true,
  auth: new ScalekitProvider({
    environmentUrl: process.env.SCALEKIT_ENVIRONMENT_URL,
    clientId: process.env.SCALEKIT_CLIENT_ID,
    resourceId: process.env.SCALEKIT_RESOURCE_ID,
    mcpUrl: process.env.MCP_URL,
  }),
});

interface TodoItem {
  id: string;
  title: string;
  description: string | null;
  completed: boolean;
}

const TODO_STORE = new Map<string, TodoItem>();

/** The seed's `_require_scope`: an error message when the token lacks the scope. */
function requireScope(scope: string): string | undefined {
  const token = getAccessToken();
  if (!token?.scopes.includes(scope)) return `Insufficient permissions: \`${scope}\` scope required.`;
  return undefined;
}

/** The seed's `_require_scopes`: every scope must be there. */
function requireScopesList(scopes: string[]): string | undefined {
  const token = getAccessToken();
  const missing = scopes.filter((scope) => !token?.scopes.includes(scope));
  return missing.length > 0 ? `Missing scopes: ${missing.join(", ")}` : undefined;
}

mcp.tool({
  name: "create_todo",
  description: "Create a new todo item. Requires todo:write scope.",
  parameters: z.object({ title: z.string(), description: z.string().optional() }),
  execute: ({ title, description }) => {
    const error = requireScope("todo:write");
    if (error) return { error };
    const todo: TodoItem = { id: randomUUID(), title, description: description ?? null, completed: false };
    TODO_STORE.set(todo.id, todo);
    return { todo };
  },
});

mcp.tool({
  name: "list_todos",
  description: "List all todos. Requires todo:read scope.",
  parameters: z.object({ completed: z.boolean().optional() }),
  execute: ({ completed }) => {
    const error = requireScope("todo:read");
    if (error) return { error };
    return { todos: [...TODO_STORE.values()].filter((todo) => completed === undefined || todo.completed === completed) };
  },
});

mcp.tool({
  name: "get_todo",
  description: "Get one todo. Requires todo:read scope.",
  parameters: z.object({ todo_id: z.string() }),
  execute: ({ todo_id }) => {
    const error = requireScope("todo:read");
    if (error) return { error };
    const todo = TODO_STORE.get(todo_id);
    return todo ? { todo } : { error: `Todo \`${todo_id}\` not found.` };
  },
});

mcp.tool({
  name: "update_todo",
  description: "Update a todo. Requires todo:write scope.",
  parameters: z.object({ todo_id: z.string(), title: z.string().optional(), description: z.string().optional(), completed: z.boolean().optional() }),
  execute: ({ todo_id, title, description, completed }) => {
    const error = requireScope("todo:write");
    if (error) return { error };
    const todo = TODO_STORE.get(todo_id);
    if (!todo) return { error: `Todo \`${todo_id}\` not found.` };
    if (title !== undefined) todo.title = title;
    if (description !== undefined) todo.description = description;
    if (completed !== undefined) todo.completed = completed;
    return { todo };
  },
});

mcp.tool({
  name: "delete_todo",
  description: "Delete a todo. Requires todo:write scope.",
  parameters: z.object({ todo_id: z.string() }),
  execute: ({ todo_id }) => {
    const error = requireScope("todo:write");
    if (error) return { error };
    return TODO_STORE.delete(todo_id) ? { deleted: todo_id } : { error: `Todo \`${todo_id}\` not found.` };
  },
});

mcp.tool({
  name: "admin_action",
  description: "Requires todo:write and admin:access.",
  execute: () => {
    const error = requireScopesList(["todo:write", "admin:access"]);
    if (error) return { error };
    return { result: "success" };
  },
});

mcp.tool({
  name: "flexible_operation",
  description: "Returns different data based on scopes.",
  execute: () => {
    const result: Record<string, string> = { basic: "data" };
    if (getAccessToken()?.scopes.includes("admin:access")) result.admin = "enhanced_data";
    return result;
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mcp.run({ transport: "http", port: Number(process.env.PORT ?? 3002) });
}
