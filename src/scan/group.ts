// Triton group files (`__grp__<name>.json`): 3.x holds the absolute path of each
// of the kernel's files, so a cache copied or moved elsewhere misses (or reads
// the original's files) until those paths are rewritten. What "stale" means
// and how a group file is rewritten both live here.
import { jsonTooDeep, TOO_DEEP } from "../core/json-depth.js";
import type { ScanWarning } from "../core/types.js";
import { warn } from "./util.js";

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});

export const GROUP_RE = /^__grp__(.+)\.json$/;

export function parseJson(path: string, text: string, warnings: ScanWarning[]): unknown {
  if (jsonTooDeep(text)) {
    warnings.push(warn(path, "bad-json", `${TOO_DEEP}: not read`));
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    warnings.push(warn(path, "bad-json", `malformed JSON: ${(e as Error).message}`));
    return undefined;
  }
}

/** Does absolute path `p` name `file` of a kernel folder called `key` (wherever that folder is)? */
function namesKernelFile(p: string, key: string, file: string): boolean {
  const parts = p.split("/");
  return parts[parts.length - 1] === file && parts[parts.length - 2] === key;
}

/**
 * Returns true when the group file's absolute paths point somewhere other than
 * this folder (a moved or copied cache). Paths that do not even name this kernel
 * are a warning: mcm never reads them.
 */
export function checkGroup(
  groupPath: string,
  text: string,
  dir: string,
  key: string,
  warnings: ScanWarning[],
): boolean {
  const value = parseJson(groupPath, text, warnings);
  if (value === undefined) return false;
  const children = asObject(value).child_paths;
  if (Array.isArray(children)) {
    // 2.x: names relative to the folder
    for (const c of children) {
      if (typeof c !== "string" || c.includes("/") || c === "..") {
        warnings.push(warn(groupPath, "group-outside", `group entry ${JSON.stringify(c)} leaves the kernel folder`));
      }
    }
    return false;
  }
  if (!children || typeof children !== "object") {
    warnings.push(warn(groupPath, "bad-json", "group file has no child_paths"));
    return false;
  }
  let stale = false;
  for (const [file, p] of Object.entries(children as Json)) {
    if (typeof p !== "string") {
      warnings.push(warn(groupPath, "bad-json", `child path for ${file} is not a string`));
      continue;
    }
    if (p === `${dir}/${file}`) continue;
    stale = true;
    if (!namesKernelFile(p, key, file)) {
      warnings.push(warn(groupPath, "group-outside", `group file points at ${p}, outside this kernel folder`));
    }
  }
  return stale;
}

/** A group file pointed at its own folder. */
export interface GroupRewrite {
  text: string;
  /** child paths changed */
  rewritten: number;
  /** child paths left as they were: outside this kernel, or naming a file the folder lacks */
  left: number;
}

/**
 * Points each absolute child path that names this kernel's own file
 * (`.../<key>/<file>`) at `<dir>/<file>`, when `exists(file)`. Null when
 * nothing changes (already right, the 2.x list form, unreadable JSON). Written
 * the way Python's json.dumps writes it, as Triton does.
 */
export function relocateGroup(
  text: string,
  dir: string,
  key: string,
  exists: (file: string) => boolean,
): GroupRewrite | null {
  const obj = groupDoc(text);
  if (!obj || Array.isArray(obj.child_paths)) return null;
  const children = obj.child_paths;
  let rewritten = 0;
  let left = 0;
  const next: Json = {};
  for (const [file, p] of Object.entries(children as Json)) {
    next[file] = p;
    if (typeof p !== "string" || p === `${dir}/${file}`) continue;
    if (namesKernelFile(p, key, file) && !file.includes("/") && exists(file)) {
      next[file] = `${dir}/${file}`;
      rewritten++;
    } else left++;
  }
  if (rewritten === 0) return null;
  return { text: pythonJson({ ...obj, child_paths: next }), rewritten, left };
}

/** The entry names a group file lists (3.x dict keys or 2.x list names); null when it is not a group. */
export function groupChildren(text: string): string[] | null {
  const children = groupDoc(text)?.child_paths;
  if (Array.isArray(children)) return children.filter((c): c is string => typeof c === "string");
  return children ? Object.keys(children) : null;
}

/**
 * The group file without the entries `goes` names ("all": an empty group,
 * which Triton reads as a miss), every other entry and its absolute path kept,
 * written as Triton writes it. Null when the text is not a group file.
 */
export function groupWithout(text: string, goes: string[] | "all"): string | null {
  const doc = groupDoc(text);
  if (!doc) return null;
  const keep = (name: unknown) => goes !== "all" && typeof name === "string" && !goes.includes(name);
  const children = Array.isArray(doc.child_paths)
    ? doc.child_paths.filter(keep)
    : Object.fromEntries(Object.entries(doc.child_paths).filter(([name]) => keep(name)));
  return pythonJson({ ...doc, child_paths: children });
}

function groupDoc(text: string): (Json & { child_paths: Json | unknown[] }) | null {
  if (jsonTooDeep(text)) return null; // pythonJson recurses
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const children = asObject(value).child_paths;
  if (!children || typeof children !== "object") return null;
  return value as Json & { child_paths: Json | unknown[] };
}

/** JSON as Python's json.dumps writes it by default: ", " and ": " separators, non-ASCII escaped. */
function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  if (v && typeof v === "object") {
    return `{${Object.entries(v as Json)
      .map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x)}`)
      .join(", ")}}`;
  }
  if (typeof v === "string") {
    return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * The root most group files point at: a child path `<R>/<kernel rel>/<file>`
 * votes for R. Counted as group files are read, so their texts need not be kept.
 */
export class OriginVotes {
  private readonly votes = new Map<string, number>();

  /** One group file's votes: its text, with its kernel folder relative to the cache. */
  add(rel: string, text: string): void {
    let children: unknown;
    try {
      children = (JSON.parse(text) as { child_paths?: unknown }).child_paths;
    } catch {
      return;
    }
    if (!children || typeof children !== "object" || Array.isArray(children)) return;
    for (const [file, p] of Object.entries(children)) {
      const tail = `/${rel}/${file}`;
      if (typeof p === "string" && p.endsWith(tail) && p.length > tail.length) {
        const r = p.slice(0, -tail.length);
        this.votes.set(r, (this.votes.get(r) ?? 0) + 1);
      }
    }
  }

  best(): string | null {
    let best: string | null = null;
    let most = 0;
    // ties: the first root in byte order, so the answer does not depend on reading order
    for (const [r, n] of [...this.votes].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))) {
      if (n > most) {
        best = r;
        most = n;
      }
    }
    return best;
  }
}

/** OriginVotes over `groups`: each group file's text, with its kernel folder relative to the cache. */
export function groupOrigin(groups: Iterable<{ rel: string; text: string }>): string | null {
  const votes = new OriginVotes();
  for (const { rel, text } of groups) votes.add(rel, text);
  return votes.best();
}
