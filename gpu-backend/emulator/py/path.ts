/**
 * POSIX path functions with Python `os.path` semantics.
 *
 * ComfyUI's file rules (SaveImage prefixes, `/view` and `/upload` containment checks) are written
 * with `os.path.normpath/dirname/basename/join/commonpath`. Node's `path.posix` differs in corner
 * cases that clients can hit (`normalize("a/")` keeps the slash, `dirname(".")` is ".", `"//x"`),
 * so the emulator uses these instead wherever ComfyUI's outcome depends on them.
 */

export function normpath(p: string): string {
  if (p === "") return ".";
  let initialSlashes = p.startsWith("/") ? 1 : 0;
  // POSIX allows a leading "//" to mean something special; Python keeps exactly two.
  if (p.startsWith("//") && !p.startsWith("///")) initialSlashes = 2;
  const out: string[] = [];
  for (const comp of p.split("/")) {
    if (comp === "" || comp === ".") continue;
    if (comp !== ".." || (initialSlashes === 0 && out.length === 0) || out[out.length - 1] === "..") {
      out.push(comp);
    } else if (out.length > 0) {
      out.pop();
    }
  }
  const joined = "/".repeat(initialSlashes) + out.join("/");
  return joined === "" ? "." : joined;
}

export function dirname(p: string): string {
  const i = p.lastIndexOf("/") + 1;
  let head = p.slice(0, i);
  if (head !== "" && head !== "/".repeat(head.length)) head = head.replace(/\/+$/, "");
  return head;
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

export function join(first: string, ...rest: string[]): string {
  let path = first;
  for (const part of rest) {
    if (part.startsWith("/")) path = part;
    else if (path === "" || path.endsWith("/")) path += part;
    else path += `/${part}`;
  }
  return path;
}

export function abspath(p: string): string {
  return normpath(p.startsWith("/") ? p : join(process.cwd(), p));
}

/** `os.path.commonpath` for absolute paths (the only way ComfyUI calls it). */
export function commonpath(a: string, b: string): string {
  const split = (p: string) => p.split("/").filter((c) => c !== "" && c !== ".");
  const pa = split(a);
  const pb = split(b);
  const common: string[] = [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) break;
    common.push(pa[i] as string);
  }
  return `/${common.join("/")}`;
}

/** `os.path.splitext`: leading dots of the base name do not start an extension. */
export function splitext(p: string): [root: string, ext: string] {
  const base = basename(p);
  const dot = base.lastIndexOf(".");
  if (dot <= 0 || /^\.+$/.test(base.slice(0, dot + 1))) return [p, ""];
  const cut = p.length - base.length + dot;
  return [p.slice(0, cut), p.slice(cut)];
}
