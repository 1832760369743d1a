/** Request and response schemas of the model registry (`/v1/admin/models`; tenants' `/v1/models` later). */
import { z } from "@hono/zod-openapi";
import { modelFolder } from "../protocol/catalog.ts";
import { isModelFileName } from "../workflows/catalog.ts";

const printable = /^[^\u0000-\u001f\u007f]+$/;

export const ModelName = z
  .string()
  .min(1)
  .max(255)
  .regex(printable, "must not hold control characters")
  .refine((n) => !n.startsWith("/") && !n.includes("\\") && !n.split("/").some((seg) => seg === ".." || seg === "." || seg === ""), {
    message: "must be a relative path inside its folder (no leading /, no \\, no . or .. segments)",
  })
  .refine(isModelFileName, { message: "must end in a model file extension (.safetensors, .ckpt, .pt, .pth, .bin, .gguf, …)" })
  .openapi({
    description: "The file name as workflows name it (a ComfyUI combo value), e.g. `sd_xl_base_1.0.safetensors` or `sdxl/detail.safetensors`.",
    example: "add_detail.safetensors",
  });

export const RegisterModelBody = z
  .object({
    folder: modelFolder.openapi({
      description: "ComfyUI's model folder: checkpoints, loras, vae, controlnet, upscale_models, embeddings, …",
      example: "loras",
    }),
    name: ModelName,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be the file's SHA-256 in lowercase hex"),
    size: z.number().int().min(1).openapi({ description: "The file's size in bytes." }),
    source: z
      .object({
        url: z.string().min(1).max(4096).openapi({
          description:
            "An https URL on a host in MODEL_SOURCE_HOSTS (every redirect hop too). Hugging Face URLs must pin a commit: `https://huggingface.co/<owner>/<repo>/resolve/<40-hex commit>/<file>`.",
          example: "https://huggingface.co/stabilityai/sdxl-vae/resolve/0123456789abcdef0123456789abcdef01234567/sdxl_vae.safetensors",
        }),
      })
      .strict()
      .optional()
      .openapi({
        description: "Have the edge download the file from this URL instead of uploading it: the model is `importing` until its size and SHA-256 are checked.",
      }),
  })
  .strict()
  .openapi("RegisterModel");

export const ModelIdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "mdl_7k2m4q9xw3hb5zc8rd6t" }) });
export const ModelPartParam = ModelIdParam.extend({
  n: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .openapi({ param: { name: "n", in: "path" }, description: "The part number, 1-based." }),
});

export const ListModelsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(64).optional().openapi({ description: "`next_cursor` of the previous page." }),
  folder: modelFolder.optional(),
});

export const ModelSchema = z
  .object({
    id: z.string(),
    folder: z.string(),
    name: z.string(),
    sha256: z.string(),
    size: z.number().int(),
    state: z.enum(["uploading", "importing", "verifying", "ready", "failed"]).openapi({
      description:
        "uploading: send the parts, then complete. importing: the edge is downloading it from `source.url`, checking size and sha256 as it streams. verifying: the whole file is being checked against sha256. ready: hosts may fetch it. failed: see error.",
    }),
    source: z
      .object({ kind: z.enum(["upload", "url"]), url: z.string().nullable() })
      .nullable()
      .openapi({ description: "Where the bytes came from: an upload, or a URL (`url`) the edge downloaded. Null when the bytes are gone." }),
    error: z.string().nullable(),
    created_at: z.string(),
    upload: z
      .object({
        part_size: z.number().int(),
        parts_total: z.number().int(),
        parts_received: z.array(z.number().int()),
        part_url: z.string().openapi({ description: "PUT each part here, `{n}` replaced by its number (1-based), with its exact size as Content-Length." }),
        complete_url: z.string(),
      })
      .nullable()
      .openapi({ description: "While uploading: how to send the file. Parts may be sent in any order and again (resuming)." }),
  })
  .openapi("Model");

export const ModelPartSchema = z
  .object({ n: z.number().int(), size: z.number().int(), sha256: z.string(), parts_missing: z.array(z.number().int()) })
  .openapi("ModelPart");
