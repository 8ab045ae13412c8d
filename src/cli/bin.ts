#!/usr/bin/env node
import { main } from "./main.js";
import { flushOutput } from "./output.js";

const code = await main(process.argv.slice(2));
await flushOutput();
// Exit explicitly: a loaded server file, its clients or its timers may still hold the event loop.
process.exit(code);
