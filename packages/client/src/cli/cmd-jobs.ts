/** `jobs ls | get | cancel | watch`: the caller's jobs. */
import { type Command, InvalidArgumentError } from "commander";
import type { Job, JobStatus } from "../client.ts";
import type { Context } from "./context.ts";
import { EXIT } from "./exit-codes.ts";
import { followJob } from "./follow.ts";
import { jobErrorText, jobLines, percentText, queueText, table } from "./format.ts";
import { reportEnd } from "./job-end.ts";
import { chooseReporter } from "./reporter.ts";

const STATUSES: readonly JobStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];

function status(value: string): JobStatus {
  if (!(STATUSES as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${STATUSES.join(", ")}`);
  return value as JobStatus;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a whole number ≥ 1");
  return n;
}

/** The last column of `jobs ls`: what a person wants to know about a job in that state. */
function stateText(job: Job): string {
  if (job.status === "queued") return queueText(job.queue_position, job.estimated_start_seconds);
  if (job.status === "running") return [percentText(job.progress?.percent), job.progress?.node_type].filter(Boolean).join(" ");
  if (job.status === "succeeded") return job.outputs.map((o) => o.name).join(" ");
  return job.error ? jobErrorText(job) : "";
}

export function registerJobs(program: Command, ctx: Context): void {
  const jobs = program.command("jobs").description("list, inspect, cancel and watch your jobs");
  const { io } = ctx;

  jobs
    .command("ls")
    .description("your jobs, newest first")
    .option("--status <status>", `only jobs in this status (${STATUSES.join(", ")})`, status)
    .option("--limit <n>", "at most this many", positiveInt, 20)
    .action(async (flags: { status?: JobStatus; limit: number }, cmd: Command) => {
      const client = ctx.client(cmd);
      const json = ctx.json(cmd);
      const rows: Job[] = [];
      for await (const job of client.list({ pageSize: Math.min(100, flags.limit), ...(flags.status ? { status: flags.status } : {}) })) {
        if (json) io.out(JSON.stringify(job));
        rows.push(job);
        if (rows.length >= flags.limit) break;
      }
      if (json) return;
      if (rows.length === 0) return io.err("no jobs");
      for (const line of table([["ID", "STATUS", "POOL", "CREATED", ""], ...rows.map((j) => [j.id, j.status, j.pool, j.created_at, stateText(j)])])) {
        io.out(line.trimEnd());
      }
    });

  jobs
    .command("get")
    .description("one job")
    .argument("<id>")
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const job = await ctx.client(cmd).get(id);
      if (ctx.json(cmd)) io.out(JSON.stringify(job));
      else for (const line of jobLines(job)) io.out(line);
    });

  jobs
    .command("cancel")
    .description("cancel a job (a running one stops at its GPU host's next chance)")
    .argument("<id>")
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const job = await ctx.client(cmd).cancel(id);
      if (ctx.json(cmd)) io.out(JSON.stringify(job));
      else io.out(`${job.id} ${job.status}${job.status === "running" && job.cancel_requested_at ? " (cancel requested)" : ""}`);
    });

  jobs
    .command("watch")
    .description("follow a job to its end (exit 1 if it fails or is cancelled)")
    .argument("<id>")
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const client = ctx.client(cmd);
      const reporter = chooseReporter(io, { json: ctx.json(cmd) });
      reporter.start(id);
      const job = await followJob(client, id, io, reporter);
      reporter.finished(job, []);
      ctx.exitCode = reportEnd(io, job) ? EXIT.ok : EXIT.failed;
    });
}
