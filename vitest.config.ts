import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import the package by name; run them against the sources.
    alias: [
      { find: /^fastmcp-ts\/client$/, replacement: src("client/index.ts") },
      { find: /^fastmcp-ts\/storage$/, replacement: src("storage/index.ts") },
      { find: /^fastmcp-ts\/auth\/providers\/(.+)$/, replacement: src("auth/providers/$1.ts") },
      { find: /^fastmcp-ts\/auth$/, replacement: src("auth/index.ts") },
      { find: /^fastmcp-ts$/, replacement: src("index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
