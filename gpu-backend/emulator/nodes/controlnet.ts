/**
 * ControlNetLoader ("Load ControlNet Model") and ControlNetApplyAdvanced ("Apply ControlNet"),
 * nodes.py.
 *
 * Faithful: specs (the optional VAE), strength 0 returning both conditionings untouched, the
 * ControlNet applied to positive and negative alike, chaining onto one applied before. Faked: the
 * applied ControlNet is recorded on the conditioning (file, strength, start/end percent, a digest
 * of the hint image), which changes the sampler's pixels; the sampler makes the ControlNet's file
 * resident (time and VRAM) with the model.
 */
import { createHash } from "node:crypto";
import { openModelFile } from "../models/files.ts";
import { pyStr } from "../py/values.ts";
import { Conditioning, ControlNet, expectValue } from "./model-types.ts";
import { expectImage, type NodeDefinition } from "./types.ts";

export const controlNetLoader: NodeDefinition = {
  classType: "ControlNetLoader",
  displayName: "Load ControlNet Model",
  category: "loaders",
  pythonModule: "nodes",
  functionName: "load_controlnet",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["CONTROL_NET"],
  inputTypes: (ctx) => ({ required: { control_net_name: [ctx.folders.list("controlnet")] } }),
  async run(inputs, ctx) {
    const controlNet = new ControlNet(openModelFile(ctx.models.folders, "controlnet", pyStr(inputs.control_net_name)));
    await ctx.models.memory.ensure(controlNet.units());
    return { result: [controlNet] };
  },
};

export const controlNetApplyAdvanced: NodeDefinition = {
  classType: "ControlNetApplyAdvanced",
  displayName: "Apply ControlNet",
  category: "conditioning/controlnet",
  pythonModule: "nodes",
  functionName: "apply_controlnet",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["CONDITIONING", "CONDITIONING"],
  returnNames: ["positive", "negative"],
  inputTypes: () => ({
    required: {
      positive: ["CONDITIONING"],
      negative: ["CONDITIONING"],
      control_net: ["CONTROL_NET"],
      image: ["IMAGE"],
      strength: ["FLOAT", { default: 1.0, min: 0.0, max: 10.0, step: 0.01 }],
      start_percent: ["FLOAT", { default: 0.0, min: 0.0, max: 1.0, step: 0.001 }],
      end_percent: ["FLOAT", { default: 1.0, min: 0.0, max: 1.0, step: 0.001 }],
    },
    optional: { vae: ["VAE"] },
  }),
  run(inputs) {
    const strength = inputs.strength as number;
    if (strength === 0) return { result: [inputs.positive, inputs.negative] };
    const image = expectImage(inputs.image);
    const hint = createHash("sha256");
    for (const frame of image.frames) hint.update(frame);
    const control = {
      controlNet: expectValue(inputs.control_net, ControlNet, "copy"),
      strength,
      startPercent: inputs.start_percent as number,
      endPercent: inputs.end_percent as number,
      hint: `${image.width}x${image.height}:${hint.digest("hex")}`,
    };
    const apply = (value: unknown) => expectValue(value, Conditioning, "copy").withControl(control);
    return { result: [apply(inputs.positive), apply(inputs.negative)] };
  },
};
