/**
 * The command line: commander's program with the global flags and every command, and the one
 * place a failure becomes a message on stderr and an exit code (exit-codes.ts).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerJobs } from "./cmd-jobs.ts";
import { registerMisc } from "./cmd-misc.ts";
import { registerRun } from "./cmd-run.ts";
import { ENV } from "./config.ts";
import { Context } from "./context.ts";
import { describeError, exitCodeFor } from "./exit-codes.ts";
import type { Io } from "./io.ts";

function version(): string {
  try {
    // src/cli/ and dist/cli/ are both two levels below the package.
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function buildProgram(ctx: Context): Command {
  const program = new Command("comfyui-saas")
    .description("Run ComfyUI workflows on comfyui-saas from the shell")
    .version(version())
    .option("--url <url>", `API origin (env ${ENV.url})`)
    .option("--key <key>", `API key or tenant JWT (env ${ENV.key})`)
    .option("--user <id>", `end-user the calls act for, X-User-ID (env ${ENV.user})`)
    .option("--json", "machine-readable output: one JSON object per line on stdout")
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    // Throw instead of exiting, so usage errors get exit code 2 like the others.
    .exitOverride()
    .addHelpText(
      "after",
      `
Exit codes: 0 done, 1 job failed or cancelled (validate: invalid), 2 usage error,
3 authentication refused (401/403), 4 rate limited (429), 5 service unavailable (5xx, network),
130 stopped following after Ctrl-C (the job goes on).`,
    );
  registerRun(program, ctx);
  registerJobs(program, ctx);
  registerMisc(program, ctx);
  return program;
}

/** Runs the command line `argv` (without node and the script); the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const ctx = new Context(io);
  try {
    await buildProgram(ctx).parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    // commander printed its own message (or the help) already.
    if (!(err instanceof CommanderError)) for (const line of describeError(err)) io.err(line);
    return exitCodeFor(err);
  }
}
