/**
 * CLIPTextEncode and CLIPSetLastLayer (nodes.py, category "conditioning").
 *
 * Faithful: specs, tooltips, CLIPTextEncode's RuntimeError for a missing CLIP (what a checkpoint
 * without a text encoder gives). Faked: the conditioning is the text and the CLIP's identity
 * (checkpoint, LoRAs, last layer), which the sampler's result is derived from; encoding makes the
 * checkpoint resident (ComfyUI moves the text encoder to the GPU here) but takes no time of its own.
 */
import { PyException, pyStr } from "../py/values.ts";
import { ClipHandle, Conditioning, expectValue } from "./model-types.ts";
import type { NodeDefinition } from "./types.ts";

export const clipTextEncode: NodeDefinition = {
  classType: "CLIPTextEncode",
  displayName: "CLIP Text Encode (Prompt)",
  description: "Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.",
  category: "conditioning",
  pythonModule: "nodes",
  functionName: "encode",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["CONDITIONING"],
  outputTooltips: ["A conditioning containing the embedded text used to guide the diffusion model."],
  inputTypes: () => ({
    required: {
      text: ["STRING", { multiline: true, dynamicPrompts: true, tooltip: "The text to be encoded." }],
      clip: ["CLIP", { tooltip: "The CLIP model used for encoding the text." }],
    },
  }),
  async run(inputs, ctx) {
    if (inputs.clip === null || inputs.clip === undefined) {
      throw new PyException(
        "RuntimeError",
        "ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node your checkpoint does not contain a valid clip or text encoder model.",
      );
    }
    const clip = expectValue(inputs.clip, ClipHandle, "tokenize");
    await ctx.models.memory.ensure(clip.units());
    return { result: [new Conditioning(pyStr(inputs.text), clip)] };
  },
};

export const clipSetLastLayer: NodeDefinition = {
  classType: "CLIPSetLastLayer",
  displayName: "CLIP Set Last Layer",
  category: "conditioning",
  pythonModule: "nodes",
  functionName: "set_last_layer",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["CLIP"],
  inputTypes: () => ({
    required: {
      clip: ["CLIP"],
      stop_at_clip_layer: ["INT", { default: -1, min: -24, max: -1, step: 1 }],
    },
  }),
  run(inputs) {
    const clip = expectValue(inputs.clip, ClipHandle, "clone");
    return { result: [clip.withLayer(inputs.stop_at_clip_layer as number)] };
  },
};
