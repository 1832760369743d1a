/** The process's streams as the commands use them; tests of the CLI run it as a child process. */
export interface Io {
  /** A line on stdout: results (paths, ids, JSON). */
  out(line: string): void;
  /** A line on stderr: progress, notes, errors. */
  err(line: string): void;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
  /** stderr is a terminal: a progress bar can redraw itself there. */
  ttyOut: boolean;
  /** stdin and stderr are a terminal: the CLI can ask a question. */
  interactive: boolean;
  env: Record<string, string | undefined>;
}

export function processIo(): Io {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    stdin: process.stdin,
    stderr: process.stderr,
    ttyOut: process.stderr.isTTY === true,
    interactive: process.stderr.isTTY === true && process.stdin.isTTY === true,
    env: process.env,
  };
}
