/**
 * CLI entry: `npm run emulator -w gpu-backend -- --port 8188 [flags]` (or `node emulator/main.ts`).
 * Flags and COMFY_EMU_* variables are listed by `--help`. An emulated crash really ends this
 * process with the configured exit status; SIGINT/SIGTERM close it cleanly.
 */
import { cliHelp, parseCli } from "./config.ts";
import { startEmulator } from "./server.ts";

const parsed = parseCli(process.argv.slice(2), process.env);
if (!parsed.ok) {
  if (parsed.help) {
    console.log(cliHelp());
    process.exit(0);
  }
  console.error(`comfyui-emulator: ${parsed.error}\n\n${cliHelp()}`);
  process.exit(2);
}

const emulator = await startEmulator({
  ...parsed.config,
  log: (line) => console.log(line),
  onCrash: (code) => process.exit(code),
});
console.log(`ComfyUI emulator (protocol of ComfyUI 0.3.64): ${emulator.url}  input=${emulator.dirs.input} output=${emulator.dirs.output}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
