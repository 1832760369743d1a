// Model folders as ComfyUI's folder_paths has them: `<base>/models/<folder>` (several directories
// for some names), recursive and sorted listings filtered by extension, the output-dir folders
// main.py adds, `--extra-model-paths-config` files, and the routes that show them.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, onTestFinished } from "vitest";
import { ModelFolders } from "../../emulator/models/folders.ts";
import { fakeModelBytes } from "../../emulator/models/safetensors.ts";
import { COMFY_0_3_64_FOLDERS } from "../support/comfy-folders.ts";
import { get, startTestEmulator } from "./harness.ts";

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "emu-models-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function touch(path: string, bytes: Buffer = fakeModelBytes()): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
}

const FOLDERS = COMFY_0_3_64_FOLDERS;

describe("model folders", () => {
  it("lists every matching file under the folder's directories, recursively, sorted, without .git", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const models = join(emulator.dirs.base, "models");
    for (const file of ["b.safetensors", "A.ckpt", "sub/deep/c.SFT", "notes.txt", ".git/x.safetensors", "sub/.git/y.pt"])
      touch(join(models, "checkpoints", file));
    touch(join(emulator.dirs.output, "checkpoints", "saved.safetensors"));
    touch(join(models, "unet", "u.safetensors"));
    touch(join(models, "diffusion_models", "d.gguf"));
    touch(join(models, "diffusion_models", "d.safetensors"));
    touch(join(models, "clip", "t5.safetensors"));
    touch(join(models, "t2i_adapter", "adapter.pth"));
    touch(join(models, "configs", "v1.yaml"));
    touch(join(models, "configs", "v1.json"));
    touch(join(models, "classifiers", "noext"));
    touch(join(models, "classifiers", "with.pt"));

    const list = async (folder: string) => (await get(emulator, `/models/${folder}`)).json;
    expect(await list("checkpoints")).toEqual(["A.ckpt", "b.safetensors", "saved.safetensors", "sub/deep/c.SFT"]);
    expect(await list("diffusion_models")).toEqual(["d.safetensors", "u.safetensors"]);
    expect(await list("text_encoders")).toEqual(["t5.safetensors"]);
    expect(await list("controlnet")).toEqual(["adapter.pth"]);
    expect(await list("configs")).toEqual(["v1.yaml"]);
    expect(await list("classifiers")).toEqual(["noext"]);
    // Aliases are not folder keys: ComfyUI answers 404 for them, as for any unknown name.
    expect((await get(emulator, "/models/unet")).status).toBe(404);
    expect((await get(emulator, "/models/nope")).status).toBe(404);
    expect((await get(emulator, "/models")).json).toEqual(FOLDERS);
  });

  it("sorts names as Python sorts str: by code point, not by UTF-16 unit", async ({ expect }) => {
    const emulator = await startTestEmulator();
    // U+1F600 is a surrogate pair in UTF-16 (0xD83D…), which JavaScript's sort puts before U+FF01.
    for (const name of ["\u{1F600}.safetensors", "\uFF01.safetensors", "z.safetensors", "\u00E9.safetensors"])
      touch(join(emulator.dirs.base, "models", "loras", name));
    for (const name of ["\u{1F600}.png", "\uFF01.png"]) touch(join(emulator.dirs.input, name), Buffer.alloc(0));
    // sorted() in ComfyUI 0.3.64 (checked with CPython 3.11): z < é < ！ < 😀.
    expect((await get(emulator, "/models/loras")).json).toEqual(["z.safetensors", "\u00E9.safetensors", "\uFF01.safetensors", "\u{1F600}.safetensors"]);
    const info = (await get(emulator, "/object_info/LoadImage")).json as { LoadImage: { input: { required: { image: [string[]] } } } };
    expect(info.LoadImage.input.required.image[0]).toEqual(["\uFF01.png", "\u{1F600}.png"]);
  });

  it("follows symlinks as os.walk(followlinks=True) does: a folder linked twice is listed under both names, a loop stops", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const models = join(emulator.dirs.base, "models");
    touch(join(emulator.dirs.base, "shared", "x.safetensors"));
    mkdirSync(join(models, "loras"), { recursive: true });
    symlinkSync(join(emulator.dirs.base, "shared"), join(models, "loras", "a"));
    symlinkSync(join(emulator.dirs.base, "shared"), join(models, "loras", "b"));
    expect((await get(emulator, "/models/loras")).json).toEqual(["a/x.safetensors", "b/x.safetensors"]);
    // A loop: os.walk goes round until the OS refuses the path (ELOOP); the emulator stops at once.
    symlinkSync(join(models, "loras"), join(models, "loras", "loop"));
    expect((await get(emulator, "/models/loras")).json).toEqual(["a/x.safetensors", "b/x.safetensors"]);
  });

  it("answers /embeddings with the names without their extension", async ({ expect }) => {
    const emulator = await startTestEmulator();
    touch(join(emulator.dirs.base, "models", "embeddings", "easynegative.safetensors"));
    touch(join(emulator.dirs.base, "models", "embeddings", "sub", "bad-hands.pt"));
    expect((await get(emulator, "/embeddings")).json).toEqual(["easynegative", "sub/bad-hands"]);
  });

  it("takes the models root from --models-dir instead of <base>/models", async ({ expect }) => {
    const models = tempDir();
    touch(join(models, "loras", "l.safetensors"));
    const emulator = await startTestEmulator({ modelsDir: models });
    expect((await get(emulator, "/models/loras")).json).toEqual(["l.safetensors"]);
  });

  it("adds the directories of extra_model_paths.yaml files: base_path, multi-line values, relative paths, is_default, new folders", async ({ expect }) => {
    const dir = tempDir();
    const a1111 = join(dir, "webui");
    touch(join(a1111, "models", "Stable-diffusion", "webui.safetensors"));
    touch(join(a1111, "models", "Lora", "l1.safetensors"));
    touch(join(a1111, "models", "LyCORIS", "l2.safetensors"));
    touch(join(dir, "shared", "checkpoints", "same.safetensors"), fakeModelBytes({ sizeBytes: 2 }));
    touch(join(dir, "plain", "upscalers", "4x.pth"));
    touch(join(dir, "plain", "llm", "model.gguf"));
    writeFileSync(
      join(dir, "extra_model_paths.yaml"),
      [
        "a111:",
        "    base_path: webui/",
        "    checkpoints: models/Stable-diffusion",
        "    loras: |",
        "         models/Lora",
        "         models/LyCORIS",
        "shared:",
        "    base_path: shared",
        "    is_default: true",
        "    checkpoints: checkpoints/",
        "nobase:",
        "    upscale_models: plain/upscalers",
        "    llm: plain/llm",
        "empty:",
        "",
      ].join("\n"),
    );
    const log: string[] = [];
    const emulator = await startTestEmulator({ extraModelPathsConfig: [join(dir, "extra_model_paths.yaml")], log: (line) => log.push(line) });
    touch(join(emulator.dirs.base, "models", "checkpoints", "same.safetensors"), fakeModelBytes({ sizeBytes: 1 }));

    const list = async (folder: string) => (await get(emulator, `/models/${folder}`)).json;
    expect(await list("checkpoints")).toEqual(["same.safetensors", "webui.safetensors"]);
    expect(await list("loras")).toEqual(["l1.safetensors", "l2.safetensors"]);
    expect(await list("upscale_models")).toEqual(["4x.pth"]);
    // A folder ComfyUI does not know becomes one that takes any file, listed after the known ones.
    expect(await list("llm")).toEqual(["model.gguf"]);
    expect(((await get(emulator, "/models")).json as string[]).slice(-1)).toEqual(["llm"]);
    expect(log).toContain(`Adding extra search path loras ${join(a1111, "models", "LyCORIS")}`);
  });

  it("resolves a name in directory order (is_default first) and never outside the folder", ({ expect }) => {
    const dir = tempDir();
    const folders = ModelFolders.defaults(dir, join(dir, "models"));
    touch(join(dir, "models", "checkpoints", "x.safetensors"));
    touch(join(dir, "first", "x.safetensors"));
    touch(join(dir, "secret.safetensors"));
    expect(folders.fullPath("checkpoints", "x.safetensors")).toBe(join(dir, "models", "checkpoints", "x.safetensors"));
    folders.add("checkpoints", join(dir, "first"), true);
    expect(folders.fullPath("checkpoints", "x.safetensors")).toBe(join(dir, "first", "x.safetensors"));
    expect(folders.fullPath("checkpoints", "../../secret.safetensors")).toBeNull();
    expect(() => folders.fullPathOrRaise("unet", "nope.safetensors")).toThrow("Model in folder 'unet' with filename 'nope.safetensors' not found.");
  });

  it("refuses to start with an extra_model_paths.yaml whose values are not paths (ComfyUI raises at start-up)", async ({ expect }) => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.yaml"), "x:\n  checkpoints:\n    - a\n    - b\n");
    await expect(startTestEmulator({ extraModelPathsConfig: [join(dir, "bad.yaml")] })).rejects.toThrow(/must be a path/);
  });
});
