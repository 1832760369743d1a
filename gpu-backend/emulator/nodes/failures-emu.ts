/**
 * Emulator-only nodes that fail on purpose, one failure mode each. All are output nodes (so a
 * prompt may consist of just one of them) and take an optional IMAGE they pass through, so they
 * can also sit in the middle of a graph.
 *
 * - RaiseErrorEmu: raises `<exception_type>(<message>)` → `execution_error`.
 * - OOMEmu: raises torch's CUDA out-of-memory error → `execution_error` with OOM tips.
 * - HangEmu: never finishes, but polls the interrupt flag like a cooperative node → only
 *   `/interrupt` ends it (`execution_interrupted`).
 * - DelayEmu: busy for `ms` without checking the interrupt flag, like a VAE decode; an interrupt
 *   sent meanwhile lands at the next node boundary.
 * - CrashEmu: the emulated ComfyUI process dies mid-prompt (see `crash` in the README).
 * - GateEmu: like HangEmu (optionally reporting progress every `step_ms`, like a sampler), until
 *   the test driving an in-process emulator opens the gate `name` (`EmulatorHandle.openGate`);
 *   then it passes its image through. Tests use it to hold a job "running" for exactly as long as
 *   they need, instead of guessing a duration.
 */
import { PyException, pyStr } from "../py/values.ts";
import { EMULATOR_CATEGORY, EMULATOR_MODULE, EMULATOR_SOURCE } from "./ksampler-emu.ts";
import { cudaOutOfMemory } from "./oom.ts";
import type { InputSpec, NodeDefinition } from "./types.ts";

const passthrough: Record<string, InputSpec> = { image: ["IMAGE"] };

function failureNode(
  classType: string,
  displayName: string,
  description: string,
  required: Record<string, InputSpec>,
  run: NodeDefinition["run"],
  optional: Record<string, InputSpec> = {},
): NodeDefinition {
  return {
    classType,
    displayName,
    description,
    category: EMULATOR_CATEGORY,
    pythonModule: EMULATOR_MODULE,
    functionName: "run",
    sourceFile: EMULATOR_SOURCE,
    outputNode: true,
    returnTypes: ["IMAGE"],
    inputTypes: () => ({ required, optional: { ...passthrough, ...optional } }),
    run,
  };
}

export const raiseErrorEmu = failureNode(
  "RaiseErrorEmu",
  "Raise Error (Emulator)",
  "Emulator-only: raises an exception when executed.",
  {
    message: ["STRING", { default: "Emulated node failure" }],
    exception_type: ["STRING", { default: "RuntimeError", tooltip: "Python exception class name reported as exception_type." }],
  },
  (inputs) => {
    throw new PyException(pyStr(inputs.exception_type), pyStr(inputs.message));
  },
);

export const oomEmu = failureNode(
  "OOMEmu",
  "Out Of Memory (Emulator)",
  "Emulator-only: raises torch.OutOfMemoryError (CUDA out of memory) when executed.",
  { allocate_gb: ["FLOAT", { default: 20.0, min: 0.01, max: 1024.0, step: 0.01 }] },
  (inputs, ctx) => {
    throw cudaOutOfMemory(ctx.config, (inputs.allocate_gb as number) * 1024 ** 3);
  },
);

/** How often HangEmu looks at the interrupt flag. */
const HANG_POLL_MS = 10;

export const hangEmu = failureNode("HangEmu", "Hang (Emulator)", "Emulator-only: never finishes; only an interrupt stops it.", {}, async (_inputs, ctx) => {
  for (;;) {
    ctx.throwIfInterrupted();
    await ctx.sleep(HANG_POLL_MS);
  }
});

export const gateEmu = failureNode(
  "GateEmu",
  "Gate (Emulator)",
  "Emulator-only: waits until the gate `name` is opened by the test driving the emulator, reporting progress every `step_ms` if set; an interrupt stops it.",
  { name: ["STRING", { default: "gate" }] },
  async (inputs, ctx) => {
    const name = pyStr(inputs.name);
    const stepMs = typeof inputs.step_ms === "number" ? inputs.step_ms : 0;
    const interruptible = inputs.interruptible !== false;
    for (let step = 0; !ctx.gateOpen(name); step++) {
      if (interruptible) ctx.throwIfInterrupted();
      await ctx.sleep(stepMs > 0 ? stepMs : HANG_POLL_MS);
      if (stepMs > 0 && interruptible) ctx.progress((step % GATE_PROGRESS_MAX) + 1, GATE_PROGRESS_MAX);
    }
    return { result: [inputs.image ?? null] };
  },
  {
    step_ms: ["INT", { default: 0, min: 0, max: 60_000, tooltip: "Report a progress step this often while closed (0: silent)." }],
    interruptible: ["BOOLEAN", { default: true, tooltip: "False: ignore interrupts until the gate opens, like a VAE decode (DelayEmu)." }],
  },
);

/** GateEmu's progress bar wraps around at this many steps (it cannot know how long it will wait). */
const GATE_PROGRESS_MAX = 100;

export const delayEmu = failureNode(
  "DelayEmu",
  "Delay (Emulator)",
  "Emulator-only: takes `ms` without progress and without noticing interrupts, like a VAE decode.",
  { ms: ["INT", { default: 1000, min: 0, max: 3_600_000 }] },
  async (inputs, ctx) => {
    await ctx.sleep(inputs.ms as number);
    return { result: [inputs.image ?? null] };
  },
);

export const crashEmu = failureNode("CrashEmu", "Crash (Emulator)", "Emulator-only: the ComfyUI process dies while executing this node.", {}, (_inputs, ctx) =>
  ctx.crash(),
);
