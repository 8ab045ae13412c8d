/** Writes a line to stdout and resolves once it is flushed, so an exit right after cannot cut it off. */
export function print(text: string): Promise<void> {
  return write(process.stdout, `${text}\n`);
}

/** Writes a line to stderr, flushed like {@link print}. */
export function printError(text: string): Promise<void> {
  return write(process.stderr, `${text}\n`);
}

/** Waits for everything written so far to reach the OS (pipes to a parent are asynchronous on some platforms). */
export function flushOutput(): Promise<void> {
  return Promise.all([write(process.stdout, ""), write(process.stderr, "")]).then(() => undefined);
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}
