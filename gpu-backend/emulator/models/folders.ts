/**
 * ComfyUI's model folders (`folder_paths.py` @ a125cd84): which directories each folder name
 * searches, which extensions count, and how file names are listed and resolved.
 *
 * Kept exactly: the folder names and their order (what `/models` lists), the legacy aliases
 * (`unet` → diffusion_models, `clip` → text_encoders), several directories per name (`models/unet`
 * and `models/diffusion_models`, `models/controlnet` and `models/t2i_adapter`), recursive listing
 * with `/`-separated sub-paths, `.git` skipped, symlinks followed, the extension filter (an empty
 * set lets any file through), one list without duplicates sorted as Python sorts str (by code
 * point), and resolution in directory order (the first
 * directory holding the name wins). `add` is `add_model_folder_path` (is_default puts a directory
 * first). ComfyUI caches listings by directory mtimes, which gives the same answers as reading
 * the folders every time, which is what this does.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import * as py from "../py/path.ts";
import { PyException, pySorted } from "../py/values.ts";

/** `supported_pt_extensions` */
export const PT_EXTENSIONS: readonly string[] = [".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"];

interface Folder {
  paths: string[];
  /** Lower-case extensions with the dot; empty = every file. */
  extensions: ReadonlySet<string>;
}

const LEGACY: Readonly<Record<string, string>> = { unet: "diffusion_models", clip: "text_encoders" };

export function mapLegacy(name: string): string {
  return LEGACY[name] ?? name;
}

export class ModelFolders {
  private readonly folders = new Map<string, Folder>();

  /** The folders of a plain ComfyUI whose models root is `modelsDir` (`<base>/models`) and custom nodes live in `<base>/custom_nodes`. */
  static defaults(base: string, modelsDir: string): ModelFolders {
    const folders = new ModelFolders();
    const pt = new Set(PT_EXTENSIONS);
    const m = (...names: string[]) => names.map((n) => py.join(modelsDir, n));
    const define = (name: string, paths: string[], extensions: Iterable<string>) => folders.folders.set(name, { paths, extensions: new Set(extensions) });
    define("checkpoints", m("checkpoints"), pt);
    define("configs", m("configs"), [".yaml"]);
    define("loras", m("loras"), pt);
    define("vae", m("vae"), pt);
    define("text_encoders", m("text_encoders", "clip"), pt);
    define("diffusion_models", m("unet", "diffusion_models"), pt);
    define("clip_vision", m("clip_vision"), pt);
    define("style_models", m("style_models"), pt);
    define("embeddings", m("embeddings"), pt);
    // sic: an extension no file has, so diffusers folders never list anything here.
    define("diffusers", m("diffusers"), ["folder"]);
    define("vae_approx", m("vae_approx"), pt);
    define("controlnet", m("controlnet", "t2i_adapter"), pt);
    define("gligen", m("gligen"), pt);
    define("upscale_models", m("upscale_models"), pt);
    define("custom_nodes", [py.join(base, "custom_nodes")], []);
    define("hypernetworks", m("hypernetworks"), pt);
    define("photomaker", m("photomaker"), pt);
    // sic: {""} lets only files without an extension through.
    define("classifiers", m("classifiers"), [""]);
    define("model_patches", m("model_patches"), pt);
    define("audio_encoders", m("audio_encoders"), pt);
    return folders;
  }

  /** `add_model_folder_path`: appends the directory (or puts it first when `isDefault`); an unknown name becomes a folder that takes any file. */
  add(name: string, fullPath: string, isDefault = false): void {
    const folder = this.folders.get(mapLegacy(name));
    if (!folder) {
      this.folders.set(mapLegacy(name), { paths: [fullPath], extensions: new Set() });
      return;
    }
    const at = folder.paths.indexOf(fullPath);
    if (at >= 0) {
      if (isDefault && at !== 0) {
        folder.paths.splice(at, 1);
        folder.paths.unshift(fullPath);
      }
    } else if (isDefault) folder.paths.unshift(fullPath);
    else folder.paths.push(fullPath);
  }

  /** `folder_names_and_paths.keys()`, in order (what `GET /models` lists). */
  names(): string[] {
    return [...this.folders.keys()];
  }

  /** Whether `name` is a key as it stands (no aliases: `GET /models/unet` is a 404). */
  has(name: string): boolean {
    return this.folders.has(name);
  }

  paths(name: string): string[] {
    return [...this.folder(name).paths];
  }

  /** `get_filename_list`: every matching file under every directory of the folder, sorted. */
  list(name: string): string[] {
    const folder = this.folder(name);
    const names = new Set<string>();
    for (const dir of folder.paths) {
      for (const file of walk(dir)) {
        const ext = py.splitext(file)[1].toLowerCase();
        if (folder.extensions.size === 0 || folder.extensions.has(ext)) names.add(file);
      }
    }
    return pySorted(names);
  }

  /** `get_full_path`: the first directory that holds `filename` as a file. */
  fullPath(name: string, filename: string): string | null {
    const folder = this.folders.get(mapLegacy(name));
    if (!folder) return null;
    // os.path.relpath(os.path.join("/", filename), "/"): no way out of the folder.
    const relative = py.normpath(py.join("/", filename)).slice(1) || ".";
    for (const dir of folder.paths) {
      const full = py.join(dir, relative);
      if (isFile(full)) return full;
    }
    return null;
  }

  /** `get_full_path_or_raise` */
  fullPathOrRaise(name: string, filename: string): string {
    const full = this.fullPath(name, filename);
    if (full === null) {
      throw new PyException("FileNotFoundError", `Model in folder '${name}' with filename '${filename}' not found.`, [
        {
          file: "folder_paths.py",
          line: 308,
          fn: "get_full_path_or_raise",
          code: "raise FileNotFoundError(f\"Model in folder '{folder_name}' with filename '{filename}' not found.\")",
        },
      ]);
    }
    return full;
  }

  private folder(name: string): Folder {
    const folder = this.folders.get(mapLegacy(name));
    if (!folder) throw new PyException("KeyError", `'${mapLegacy(name)}'`);
    return folder;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `recursive_search(dir, excluded_dir_names=[".git"])`: relative paths of every file, following symlinks. */
function walk(root: string): string[] {
  const out: string[] = [];
  try {
    if (!statSync(root).isDirectory()) return out;
  } catch {
    return out;
  }
  // os.walk would recurse through a symlink loop until the OS refuses (ELOOP); the emulator stops
  // where a directory is its own ancestor. A directory reached by two paths that are not a loop
  // (two symlinks to one shared folder) is listed under each, as os.walk does.
  const ancestors = new Set<string>();
  const visit = (dir: string, prefix: string) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if (ancestors.has(real)) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    ancestors.add(real);
    for (const entry of entries) {
      const full = py.join(dir, entry);
      let isDir = false;
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        // A broken symlink is listed as a file, as os.walk does.
      }
      if (isDir) {
        if (entry !== ".git") visit(full, `${prefix}${entry}/`);
      } else out.push(`${prefix}${entry}`);
    }
    ancestors.delete(real);
  };
  visit(root, "");
  return out;
}
