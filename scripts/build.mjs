// The TypeScript build of src/ into dist/, from scratch (a module removed from src/ leaves nothing
// behind in dist/), then the CLI entry made executable (npm does that on install, not on build).
//
// With --if-stale (npm's `prepare`): nothing to do when dist/ was built after the last change to
// src/, tsconfig.json and package.json. `npx fastmcp-ts` in a fresh clone runs `prepare` again
// right after `npm install` ran it; this makes the second run a few milliseconds, not a build.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const stamp = join(root, "dist", ".build-stamp");

function newestChange(path) {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

function upToDate() {
  if (!existsSync(stamp)) return false;
  const sources = Math.max(...["src", "tsconfig.json", "package.json"].map((path) => newestChange(join(root, path))));
  return statSync(stamp).mtimeMs >= sources;
}

if (process.argv.includes("--if-stale") && upToDate()) process.exit(0);

rmSync(join(root, "dist"), { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
chmodSync(join(root, "dist", "cli", "bin.js"), 0o755);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
