import { defineCommand, renderUsage, runCommand, type ArgsDef, type CommandDef } from "citty";
import { exitCodeOf, formatError, stripAnsi, UsageError } from "./errors.js";
import { commonFlags, findUnknownOption, secretsIn } from "./flags.js";
import { print, printError } from "./output.js";
import { packageVersion } from "./version.js";

/** A command and the notes shown after its generated usage. */
interface CommandModule {
  /** A citty command, typed by its own flags. */
  command: object;
  notes: string;
}

// Loaded on demand: --help and --version need none of the client and server code.
const commands: Record<string, () => Promise<CommandModule>> = {
  run: () => import("./commands/run.js"),
  list: () => import("./commands/list.js"),
  call: () => import("./commands/call.js"),
  token: () => import("./commands/token.js"),
  login: () => import("./commands/login.js"),
  logout: () => import("./commands/logout.js"),
};

const root = asCommand(defineCommand({
  meta: { name: "fastmcp-ts", version: packageVersion(), description: "Run FastMCP servers, list what a server offers, call its tools, log in with OAuth, mint test tokens" },
  args: {
    version: { type: "boolean", alias: "v", description: "Print the version" },
    ...commonFlags,
  },
  subCommands: Object.fromEntries(Object.entries(commands).map(([name, load]) => [name, async () => asCommand((await load()).command)])),
}));

/** Runs the command line and returns the exit code (`run` returns once its server has stopped). */
export async function main(rawArgs: string[]): Promise<number> {
  const options = { debug: beforeSeparator(rawArgs).includes("--debug"), secrets: secretsIn(rawArgs) };
  const reportAndExit = (error: unknown) => {
    void printError(formatError(error, options)).then(() => process.exit(exitCodeOf(error)));
  };
  // A server file may fail outside any await of ours (a run() it does not await, a timer...).
  process.on("unhandledRejection", reportAndExit);
  process.on("uncaughtException", reportAndExit);
  try {
    await dispatch(rawArgs);
    return 0;
  } catch (error) {
    await printError(formatError(error, options));
    return exitCodeOf(error);
  }
}

async function dispatch(rawArgs: string[]): Promise<void> {
  const index = rawArgs.findIndex((token) => !token.startsWith("-"));
  const name = index === -1 ? undefined : rawArgs[index]!;
  const leading = index === -1 ? rawArgs : rawArgs.slice(0, index);
  if (name !== undefined && !Object.hasOwn(commands, name)) {
    throw new UsageError(`Unknown command "${name}": use ${Object.keys(commands).join(", ")} (see fastmcp-ts --help)`);
  }
  const module = name === undefined ? undefined : await commands[name]!();
  if (wantsHelp(rawArgs) || rawArgs.length === 0) return showHelp(module);
  const unknownLeading = findUnknownOption(leading, (await resolveArgs(root.args)) ?? {});
  if (unknownLeading !== undefined) throw new UsageError(`Unknown option ${unknownLeading} (see fastmcp-ts --help)`);
  if (leading.includes("--version") || leading.includes("-v")) return print(packageVersion());
  if (!module) throw new UsageError("No command given (see fastmcp-ts --help)");
  const command = asCommand(module.command);
  const commandArgs = rawArgs.slice(index + 1);
  await checkOptions(command, name!, commandArgs);
  try {
    await runCommand(command, { rawArgs: commandArgs });
  } catch (error) {
    // citty reports parse problems (missing argument, bad enum value) as CLIError.
    if (error instanceof Error && error.name === "CLIError") {
      throw new UsageError(`${stripAnsi(error.message).replace(/\.$/, "")} (see fastmcp-ts ${name} --help)`);
    }
    throw error;
  }
}

async function checkOptions(command: CommandDef, name: string, commandArgs: string[]): Promise<void> {
  const argsDef = (await resolveArgs(command.args)) ?? {};
  const unknown = findUnknownOption(commandArgs, argsDef);
  if (unknown !== undefined) throw new UsageError(`Unknown option ${unknown} for "${name}" (see fastmcp-ts ${name} --help)`);
}

async function showHelp(module: CommandModule | undefined): Promise<void> {
  const usage = module ? await renderUsage(asCommand(module.command), root) : await renderUsage(root);
  const text = module ? `${usage.trimEnd()}\n\n${module.notes}` : usage.trimEnd();
  // citty pads every column; trailing blanks only get in the way of copy and paste.
  const tidy = text.split("\n").map((line) => line.trimEnd()).join("\n");
  await print(process.stdout.isTTY ? tidy : stripAnsi(tidy));
}

/** Commands are typed by their own flags; dispatching only needs them as plain commands. */
function asCommand(command: object): CommandDef {
  return command as CommandDef;
}

function wantsHelp(rawArgs: string[]): boolean {
  const args = beforeSeparator(rawArgs);
  return args.includes("--help") || args.includes("-h");
}

function beforeSeparator(rawArgs: string[]): string[] {
  const separator = rawArgs.indexOf("--");
  return separator === -1 ? rawArgs : rawArgs.slice(0, separator);
}

async function resolveArgs(args: CommandDef["args"]): Promise<ArgsDef | undefined> {
  return typeof args === "function" ? await args() : await args;
}
