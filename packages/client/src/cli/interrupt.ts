/**
 * Ctrl-C while a job is followed. On a terminal it asks "Cancel job <id>? [y/N]" and cancels on
 * yes; elsewhere (a script, CI) SIGINT cancels at once. Either way the CLI keeps following until the
 * job's end (cancelled, or whatever it reached first). Ctrl-C again — at the question, or after a
 * cancel was asked for without a terminal — stops following and leaves the job as it is.
 */
import { createInterface, type Interface } from "node:readline";
import type { Io } from "./io.ts";
import type { Reporter } from "./reporter.ts";

export interface InterruptOptions {
  jobId: string;
  io: Io;
  reporter: Reporter;
  cancel: () => Promise<unknown>;
  /** Called when the user gives up following. */
  detach: () => void;
}

/** Installs the SIGINT handler; the function returned removes it (and closes an open question). */
export function handleInterrupts(opts: InterruptOptions): () => void {
  const { jobId, io, reporter } = opts;
  let question: Interface | undefined;
  let cancelAsked = false;

  const cancel = async () => {
    cancelAsked = true;
    reporter.note(`cancelling job ${jobId}…`);
    try {
      await opts.cancel();
    } catch (err) {
      reporter.note(`could not cancel job ${jobId}: ${(err as Error).message}`);
    }
  };

  const detach = () => {
    reporter.note(`stopped following job ${jobId}; it goes on (comfyui-saas jobs watch ${jobId})`);
    opts.detach();
  };

  const ask = () => {
    reporter.pause();
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
    question = rl;
    // readline puts the terminal in raw mode: a second Ctrl-C reaches it, not the process.
    rl.on("SIGINT", () => {
      closeQuestion();
      io.stderr.write("\n");
      detach();
    });
    rl.question(`Cancel job ${jobId}? [y/N] `, (answer) => {
      closeQuestion();
      reporter.resume();
      if (/^y(es)?$/i.test(answer.trim())) void cancel();
    });
  };

  const closeQuestion = () => {
    const rl = question;
    question = undefined;
    rl?.close();
  };

  const onSigint = () => {
    if (question) return;
    if (cancelAsked) return detach();
    if (io.interactive) ask();
    else void cancel();
  };

  process.on("SIGINT", onSigint);
  return () => {
    process.off("SIGINT", onSigint);
    closeQuestion();
  };
}
