/** ImageInvert (nodes.py, "Invert Image"): 1 - pixel, i.e. 255 - byte. */
import { expectImage, ImageBatch, type NodeDefinition } from "./types.ts";

export const imageInvert: NodeDefinition = {
  classType: "ImageInvert",
  displayName: "Invert Image",
  category: "image",
  pythonModule: "nodes",
  functionName: "invert",
  sourceFile: "nodes.py",
  outputNode: false,
  returnTypes: ["IMAGE"],
  inputTypes: () => ({ required: { image: ["IMAGE"] } }),
  run(inputs) {
    const image = expectImage(inputs.image);
    const frames = image.frames.map((frame) => frame.map((v) => 255 - v));
    return { result: [new ImageBatch(image.width, image.height, frames)] };
  },
};
