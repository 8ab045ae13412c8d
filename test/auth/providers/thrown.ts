/** The message of what `build` throws (the test fails when it throws nothing). */
export function thrownMessage(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error, none was thrown");
}
