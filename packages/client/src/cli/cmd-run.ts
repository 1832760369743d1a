/**
 * `run workflow.json`: edit (--set), upload inputs (--input), submit, follow to the end, write the
 * outputs into --out and print their paths. Exit 0 when the job succeeded, 1 when it failed or was
 * cancelled (its error code and message on stderr).
 */
import { type Command, Option } from "commander";
import { downloadOutputs, uploadFile } from "../node.ts";
import type { Context } from "./context.ts";
import { assign, checkAssignable, collect, parseInput, parseSet } from "./edits.ts";
import { EXIT } from "./exit-codes.ts";
import { followJob } from "./follow.ts";
import { reportEnd } from "./job-end.ts";
import { chooseReporter } from "./reporter.ts";
import { loadWorkflow } from "./workflow-file.ts";

interface RunFlags {
  set: string[];
  input: string[];
  pool?: string;
  out: string;
}

export function registerRun(program: Command, ctx: Context): void {
  program
    .command("run")
    .description("run a workflow, follow it and download its outputs")
    .argument("<workflow>", "workflow file (ComfyUI API format, or a {workflow: …} request body)")
    .addOption(new Option("--set <path=value>", "change the workflow: dot path, JSON value or a string (repeatable)").argParser(collect).default([]))
    .addOption(new Option("--input <node.input=file>", "upload a file and put its upload:<id> in that input (repeatable)").argParser(collect).default([]))
    .option("--pool <pool>", "the GPU pool to run in")
    .option("--out <dir>", "where to write the outputs", "./out")
    .action(async (file: string, flags: RunFlags, cmd: Command) => {
      const { io } = ctx;
      const workflow = await loadWorkflow(file);
      for (const { path, value } of flags.set.map(parseSet)) assign(workflow, path, value);
      const inputs = flags.input.map(parseInput);
      for (const { path } of inputs) checkAssignable(workflow, path);
      const client = ctx.client(cmd);
      const reporter = chooseReporter(io, { json: ctx.json(cmd) });

      for (const { path, file: input } of inputs) {
        const upload = await uploadFile(client, input);
        assign(workflow, path, upload.ref);
        reporter.note(`uploaded ${input} as ${upload.ref}`);
      }
      const submitted = await client.submit(workflow, flags.pool ? { pool: flags.pool } : {});
      reporter.start(submitted.id, submitted);
      const job = await followJob(client, submitted.id, io, reporter);
      const files = job.status === "succeeded" ? await downloadOutputs(client, job, flags.out) : [];
      reporter.finished(job, files);
      ctx.exitCode = reportEnd(io, job) ? EXIT.ok : EXIT.failed;
    });
}
