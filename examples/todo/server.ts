/**
 * The todo server of the Scalekit guide (create, list, get, update, delete, with `todo:read` and
 * `todo:write`), with its own authorization server: LocalOAuthProvider. No identity provider and no
 * database: people sign in on this server's login page and approve each application on its consent
 * page; clients, grants and the signing key are kept in a directory (a FileStore).
 *
 *   npx fastmcp-ts run examples/todo/server.ts --transport http --port 8000
 *
 * prints a development login (username `dev` and a password kept across restarts). Connect any MCP
 * client to http://127.0.0.1:8000/mcp: it discovers this server's OAuth metadata, registers, and
 * sends you to the login page. Each person's todos are their own (`ctx.auth.subject`).
 *
 * Settings (all optional): BASE_URL (where clients reach this server; default: where it listens,
 * so `--port 8001` alone just works), TODO_USERS (`name:password,...` instead of the development
 * login), TODO_STORE_DIR (where the FileStore lives).
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { FastMCP, ToolError } from "fastmcp-ts";
import { LocalOAuthProvider } from "fastmcp-ts/auth";
import { FileStore } from "fastmcp-ts/storage";

const users = process.env.TODO_USERS
  ? Object.fromEntries(process.env.TODO_USERS.split(",").map((entry) => entry.split(":", 2) as [string, string]))
  : undefined;

export const auth = new LocalOAuthProvider({
  ...(process.env.BASE_URL ? { baseUrl: process.env.BASE_URL } : {}),
  serverName: "Todo Server",
  requiredScopes: ["todo:read"],
  clientRegistration: { validScopes: ["todo:read", "todo:write"] },
  scopeDescriptions: { "todo:read": "see your todos", "todo:write": "create, change and delete your todos" },
  ...(users ? { users } : {}),
  ...(process.env.TODO_STORE_DIR ? { store: new FileStore({ directory: process.env.TODO_STORE_DIR }) } : {}),
});

export const mcp = new FastMCP({ name: "Todo Server", auth });

interface TodoItem {
  id: string;
  title: string;
  description: string | null;
  completed: boolean;
}

/** Each user's todos, by the `sub` of their token. */
const todos = new Map<string, Map<string, TodoItem>>();

function listOf(owner: string | undefined): Map<string, TodoItem> {
  if (!owner) throw new ToolError("This server needs a signed-in user");
  let list = todos.get(owner);
  if (!list) todos.set(owner, (list = new Map()));
  return list;
}

function find(owner: string | undefined, id: string): TodoItem {
  const todo = listOf(owner).get(id);
  if (!todo) throw new ToolError(`Todo ${id} not found`);
  return todo;
}

mcp.tool({
  name: "create_todo",
  description: "Create a new todo item. Requires todo:write.",
  parameters: z.object({ title: z.string().min(1), description: z.string().optional() }),
  scopes: ["todo:write"],
  execute: ({ title, description }, ctx) => {
    const todo: TodoItem = { id: randomUUID(), title, description: description ?? null, completed: false };
    listOf(ctx.auth?.subject).set(todo.id, todo);
    return { todo };
  },
});

mcp.tool({
  name: "list_todos",
  description: "List your todos, optionally only completed or open ones. Requires todo:read.",
  parameters: z.object({ completed: z.boolean().optional() }),
  execute: ({ completed }, ctx) => ({
    todos: [...listOf(ctx.auth?.subject).values()].filter((todo) => completed === undefined || todo.completed === completed),
  }),
});

mcp.tool({
  name: "get_todo",
  description: "Get one todo by id. Requires todo:read.",
  parameters: z.object({ todo_id: z.string() }),
  execute: ({ todo_id }, ctx) => ({ todo: find(ctx.auth?.subject, todo_id) }),
});

mcp.tool({
  name: "update_todo",
  description: "Change a todo's title, description or completion. Requires todo:write.",
  parameters: z.object({ todo_id: z.string(), title: z.string().min(1).optional(), description: z.string().optional(), completed: z.boolean().optional() }),
  scopes: ["todo:write"],
  execute: ({ todo_id, title, description, completed }, ctx) => {
    const todo = find(ctx.auth?.subject, todo_id);
    if (title !== undefined) todo.title = title;
    if (description !== undefined) todo.description = description;
    if (completed !== undefined) todo.completed = completed;
    return { todo };
  },
});

mcp.tool({
  name: "delete_todo",
  description: "Delete a todo. Requires todo:write.",
  parameters: z.object({ todo_id: z.string() }),
  scopes: ["todo:write"],
  execute: ({ todo_id }, ctx) => {
    find(ctx.auth?.subject, todo_id);
    listOf(ctx.auth?.subject).delete(todo_id);
    return { deleted: todo_id };
  },
});

mcp.tool({
  name: "whoami",
  description: "Who the server sees: your user, the application, and the scopes it holds.",
  execute: (_args, ctx) => ({ user: ctx.auth?.subject, name: ctx.auth?.claims.name, client: ctx.auth?.clientId, scopes: ctx.auth?.scopes }),
});

export default mcp;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mcp.run({ transport: "http", port: Number(process.env.PORT ?? 8000) });
}
