// Makes the CLI entry executable after tsc has emitted it (npm does this on install, not on build).
import { chmodSync, existsSync } from "node:fs";

const bin = new URL("../dist/cli/bin.js", import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
