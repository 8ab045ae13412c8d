/**
 * Imports point one way: no module reaches back, directly or through others, to one that imports
 * it. Type-only imports count too (they tie the modules' designs together just the same).
 */
import { parseCircular, parseDependencyTree, prettyCircular } from "dpdm";
import { describe, expect, it } from "vitest";

const ENTRIES = ["src/index.ts", "src/auth/index.ts", "src/auth/providers/*.ts", "src/client/index.ts", "src/storage/index.ts", "src/cli/bin.ts"];

describe("the import graph of src/", () => {
  it("has no cycle", async () => {
    const tree = await parseDependencyTree(ENTRIES, { context: process.cwd(), transform: false, skipDynamicImports: false, tsconfig: "tsconfig.json" });
    const files = Object.keys(tree).filter((file) => file.startsWith("src/"));
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain("src/auth/server/local/provider.ts");
    expect(prettyCircular(parseCircular(tree), "")).toBe("");
  });
});
