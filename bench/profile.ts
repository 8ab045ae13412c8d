/**
 * Summarises V8 CPU profiles written by `npm run bench -- --cpu-prof <dir>`: where the busy time
 * went, by package and by function (self time), and optionally the time spent under given functions.
 *
 *   npx tsx bench/profile.ts /tmp/prof/fastmcp-jwt-rs256-first-seen-1.cpuprofile
 *   npx tsx bench/profile.ts --top 40 --under verifyToken,authenticateBearer a.cpuprofile b.cpuprofile
 *   npx tsx bench/profile.ts --requests 150935,135312 a.cpuprofile b.cpuprofile   # adds µs per request
 *
 * Shares are of busy time: samples in "(idle)" (the event loop waiting) are left out. With
 * --requests (one count per profile: the requests its server served, e.g. a run with --warmup 0:
 * the measured window's responses plus the 6 sample calls), times are also given per request.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { table } from "./lib/report.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (µs) per node id, from the samples and the time between them. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const times = new Map<number, number>();
  profile.samples.forEach((id, i) => times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  return times;
}

/** Which package (or part of Node) a frame belongs to. */
function packageOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0] === "internal" ? url.slice(5).split("/")[1] : url.slice(5)}`;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules && !inModules[1]!.startsWith(".cache")) return inModules[1]!;
  if (url.includes("/dist/")) return `fastmcp-ts ${url.slice(url.indexOf("/dist/") + 6).split("/").slice(0, -1).join("/") || "."}`;
  if (url.includes("fastmcp-bench")) return "bench server";
  return url;
}

function frameName(frame: ProfileNode["callFrame"]): string {
  const file = frame.url === "" ? "" : ` ${basename(frame.url)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"}${file}`;
}

/** Busy time (µs) spent in nodes under any function named in `names` (inclusive, without double counting). */
function timeUnder(profile: CpuProfile, self: Map<number, number>, names: Set<string>): number {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let total = 0;
  const visit = (id: number, inside: boolean) => {
    const node = byId.get(id)!;
    const counted = inside || names.has(node.callFrame.functionName);
    if (counted) total += self.get(id) ?? 0;
    for (const child of node.children ?? []) visit(child, counted);
  };
  visit(profile.nodes[0]!.id, false);
  return total;
}

function summarise(path: string, top: number, under: string[], requests: number | undefined): string {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const self = selfTimes(profile);
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0;
    if (time === 0 || node.callFrame.functionName === "(idle)") continue;
    busy += time;
    const pkg = packageOf(node.callFrame);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
    const name = `${frameName(node.callFrame)} [${pkg}]`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  }
  const share = (time: number) => `${((time / busy) * 100).toFixed(1)}%`;
  const perRequest = (time: number) => (requests === undefined ? [] : [(time / requests).toFixed(2)]);
  const columns = (label: string) => ["share", "self", ...(requests === undefined ? [] : ["µs/req"]), label];
  const ranked = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, time]) => [share(time), `${(time / 1000).toFixed(0)} ms`, ...perRequest(time), name]);
  const perRequestBusy = requests === undefined ? "" : `, ${(busy / requests).toFixed(1)} µs per request (${requests} requests)`;
  const parts = [
    `${basename(path)}: ${(busy / 1000).toFixed(0)} ms busy${perRequestBusy}`,
    table(columns("package"), ranked(byPackage, 15)),
    table(columns("function"), ranked(byFunction, top)),
  ];
  if (under.length > 0) {
    const rows = under.map((name) => {
      const time = timeUnder(profile, self, new Set([name]));
      return [share(time), `${(time / 1000).toFixed(0)} ms`, ...perRequest(time), name];
    });
    parts.push(table(columns("under (inclusive, synchronous part)"), rows));
  }
  return parts.join("\n\n");
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, under: { type: "string", default: "" }, requests: { type: "string" } },
  });
  if (positionals.length === 0) throw new Error("usage: npx tsx bench/profile.ts [--top n] [--under f,g] [--requests n,m] <file.cpuprofile>...");
  const under = values.under.split(",").map((name) => name.trim()).filter(Boolean);
  const requests = values.requests?.split(",").map(Number);
  if (requests && (requests.length !== positionals.length || requests.some((n) => !(n > 0)))) throw new Error("--requests needs one positive count per profile");
  console.log(positionals.map((path, i) => summarise(path, Number(values.top), under, requests?.[i])).join("\n\n\n"));
}

main();
