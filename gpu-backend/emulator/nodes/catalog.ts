/**
 * The node catalog (ComfyUI's NODE_CLASS_MAPPINGS) and the `/object_info` entry of each node,
 * built the way `server.py`'s `node_info()` builds it for classic (v1) node classes.
 */
import { emptyAudioEmu, saveAudioEmu } from "./audio-emu.ts";
import { checkpointLoaderSimple } from "./checkpoint.ts";
import { clipSetLastLayer, clipTextEncode } from "./conditioning.ts";
import { controlNetApplyAdvanced, controlNetLoader } from "./controlnet.ts";
import { emptyImage } from "./empty-image.ts";
import { crashEmu, delayEmu, gateEmu, hangEmu, oomEmu, raiseErrorEmu } from "./failures-emu.ts";
import { imageInvert } from "./image-invert.ts";
import { ksamplerEmu } from "./ksampler-emu.ts";
import { emptyLatentImage, latentUpscale } from "./latent.ts";
import { loadImage } from "./load-image.ts";
import { loraLoader, loraLoaderModelOnly } from "./lora.ts";
import { ksampler, ksamplerAdvanced } from "./sampling.ts";
import { previewImage, saveImage } from "./save-image.ts";
import type { CatalogContext, InputSpec, InputTypes, NodeDefinition } from "./types.ts";
import { imageScale, imageUpscaleWithModel, upscaleModelLoader } from "./upscale.ts";
import { vaeDecode, vaeEncode, vaeLoader } from "./vae.ts";

export type Catalog = ReadonlyMap<string, NodeDefinition>;

export function createCatalog(): Catalog {
  // ComfyUI's classes in NODE_CLASS_MAPPINGS order (nodes.py, then comfy_extras), then the emulator's own.
  const nodes = [
    ksampler,
    checkpointLoaderSimple,
    clipTextEncode,
    clipSetLastLayer,
    vaeDecode,
    vaeEncode,
    vaeLoader,
    emptyLatentImage,
    latentUpscale,
    saveImage,
    previewImage,
    loadImage,
    imageScale,
    imageInvert,
    emptyImage,
    ksamplerAdvanced,
    loraLoader,
    controlNetApplyAdvanced,
    controlNetLoader,
    loraLoaderModelOnly,
    upscaleModelLoader,
    imageUpscaleWithModel,
    ksamplerEmu,
    emptyAudioEmu,
    saveAudioEmu,
    raiseErrorEmu,
    oomEmu,
    hangEmu,
    gateEmu,
    delayEmu,
    crashEmu,
  ];
  return new Map(nodes.map((node) => [node.classType, node]));
}

/** `[type, options]` or `[type]` exactly as INPUT_TYPES declares it. */
export function inputSpecJson(spec: InputSpec): unknown[] {
  return spec[1] === undefined ? [spec[0]] : [spec[0], spec[1]];
}

export function inputTypesJson(types: InputTypes): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  if (types.required) out.required = mapValues(types.required, inputSpecJson);
  if (types.optional) out.optional = mapValues(types.optional, inputSpecJson);
  if (types.hidden) out.hidden = { ...types.hidden };
  return out;
}

export function nodeInfo(node: NodeDefinition, ctx: CatalogContext): Record<string, unknown> {
  if (node.schema === "v3") return nodeInfoV3(node, ctx);
  const input = inputTypesJson(node.inputTypes(ctx));
  const info: Record<string, unknown> = {
    input,
    input_order: mapValues(input, (category) => Object.keys(category)),
    output: [...node.returnTypes],
    output_is_list: node.returnTypes.map(() => false),
    output_name: [...(node.returnNames ?? node.returnTypes)],
    name: node.classType,
    display_name: node.displayName ?? node.classType,
    description: node.description ?? "",
    python_module: node.pythonModule,
    category: node.category,
    output_node: node.outputNode,
  };
  if (node.outputTooltips) info.output_tooltips = [...node.outputTooltips];
  if (node.experimental) info.experimental = true;
  return info;
}

/** `Schema.get_v1_info` of a comfy_api node (NodeInfoV1's field order). */
function nodeInfoV3(node: NodeDefinition, ctx: CatalogContext): Record<string, unknown> {
  const input = inputTypesJson(node.inputTypes(ctx));
  return {
    input,
    input_order: mapValues(input, (category) => Object.keys(category)),
    output: [...node.returnTypes],
    output_is_list: node.returnTypes.map(() => false),
    output_name: [...(node.returnNames ?? node.returnTypes)],
    output_tooltips: node.returnTypes.map((_, i) => node.outputTooltips?.[i] ?? null),
    name: node.classType,
    display_name: node.displayName ?? null,
    description: node.description ?? "",
    python_module: node.pythonModule,
    category: node.category,
    output_node: node.outputNode,
    deprecated: false,
    experimental: node.experimental ?? false,
    api_node: false,
  };
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
