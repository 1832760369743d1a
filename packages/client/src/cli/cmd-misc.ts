/** `validate`, `usage`, `uploads add`: one request each. */
import type { Command } from "commander";
import { uploadFile } from "../node.ts";
import type { Context } from "./context.ts";
import { EXIT } from "./exit-codes.ts";
import { duration } from "./format.ts";
import { loadWorkflow } from "./workflow-file.ts";

export function registerMisc(program: Command, ctx: Context): void {
  const { io } = ctx;

  program
    .command("validate")
    .description("check a workflow against the pool's GPU hosts without running it (exit 1 if invalid)")
    .argument("<workflow>", "workflow file")
    .option("--pool <pool>", "the GPU pool to check against")
    .action(async (file: string, flags: { pool?: string }, cmd: Command) => {
      const workflow = await loadWorkflow(file);
      const v = await ctx.client(cmd).validate(workflow, flags.pool ? { pool: flags.pool } : {});
      ctx.exitCode = v.valid ? EXIT.ok : EXIT.failed;
      if (ctx.json(cmd)) return io.out(JSON.stringify(v));
      if (v.valid) {
        const start = v.estimated_start_seconds === null ? "" : `, would start in ~${duration(v.estimated_start_seconds)}`;
        io.out(
          `valid for pool ${v.pool}: ${v.eligible_hosts} eligible host${v.eligible_hosts === 1 ? "" : "s"}${start}${v.checked ? "" : " (shape only: no host catalog yet)"}`,
        );
      } else {
        io.out(`not valid for pool ${v.pool}`);
        for (const e of v.errors) io.out(`  ${e.pointer}: ${e.detail}${e.code ? ` (${e.code})` : ""}`);
      }
    });

  program
    .command("usage")
    .description("your submissions and active jobs against your limits")
    .action(async (_flags: unknown, cmd: Command) => {
      const u = await ctx.client(cmd).usage();
      if (ctx.json(cmd)) return io.out(JSON.stringify(u));
      io.out(`active jobs: ${u.user_active_jobs} yours, ${u.tenant_active_jobs} tenant-wide`);
      io.out(
        `submissions: ${u.submissions_last_minute} in the last minute, ${u.submissions_remaining} left (window resets in ${duration(u.window_reset_seconds)})`,
      );
      for (const [name, value] of Object.entries(u.limits)) io.out(`limit ${name}: ${value}`);
    });

  const uploads = program.command("uploads").description("images for workflows to use as upload:<id>");
  uploads
    .command("add")
    .description("upload an image; prints its upload:<id> ref")
    .argument("<file>")
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      const upload = await uploadFile(ctx.client(cmd), file);
      if (ctx.json(cmd)) return io.out(JSON.stringify(upload));
      io.out(upload.ref);
      io.err(`${upload.width}×${upload.height} ${upload.content_type}, expires ${upload.expires_at}`);
    });
}
