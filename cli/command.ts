// Every CLI command is one of these, registered by name in main.ts.
export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  usage: string;
  /** Returns the exit code: 0 ok, 1 a point or qualification failed, 2 bad input. */
  run(argv: string[]): Promise<number>;
}
