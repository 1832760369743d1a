/**
 * The node catalog (ComfyUI's NODE_CLASS_MAPPINGS) and the `/object_info` entry of each node,
 * built the way `server.py`'s `node_info()` builds it for classic (v1) node classes.
 */
import { emptyAudioEmu, saveAudioEmu } from "./audio-emu.ts";
import { emptyImage } from "./empty-image.ts";
import { crashEmu, delayEmu, gateEmu, hangEmu, oomEmu, raiseErrorEmu } from "./failures-emu.ts";
import { imageInvert } from "./image-invert.ts";
import { ksamplerEmu } from "./ksampler-emu.ts";
import { loadImage } from "./load-image.ts";
import { previewImage, saveImage } from "./save-image.ts";
import type { CatalogContext, InputSpec, InputTypes, NodeDefinition } from "./types.ts";

export type Catalog = ReadonlyMap<string, NodeDefinition>;

export function createCatalog(): Catalog {
  const nodes = [
    emptyImage,
    loadImage,
    imageInvert,
    saveImage,
    previewImage,
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

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
