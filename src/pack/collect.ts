// The files of a cache folder to archive: what export and push both pack.
import { type Dirent, readdirSync } from "node:fs";
import { McmError } from "../core/errors.js";
import { isMcmName } from "../scan/util.js";

/** Why a name in a cache is never archived, or null. */
export function skipReason(name: string): string | null {
  if (isMcmName(name)) return "mcm's own file";
  if (name.startsWith("tmp.pid_") || name.includes(".tmp.pid_")) return "a Triton write in flight or interrupted";
  if (name.endsWith(".lock")) return "a lock file";
  return null;
}

export interface Collected {
  dirs: string[];
  /** relative to the root given to collect (the absolute path is `${root}/${rel}`: not kept, to spare memory) */
  files: { rel: string }[];
  skipped: { path: string; reason: string }[];
}

export function relOf(root: string, abs: string): string {
  return abs.slice(root.length + 1);
}

/** Every folder and plain file under `dir`, skipping what skipReason names and anything that is not a plain file. */
export function collect(root: string, dir: string, out: Collected): void {
  collectRel(dir, relOf(root, dir), out);
}

// names are built from the folder's relative name, not sliced from the absolute one:
// a slice would keep the whole absolute path alive for each of a big cache's files
function collectRel(dir: string, relDir: string, out: Collected): void {
  let list: Dirent[];
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new McmError(`cannot read ${dir}: ${(e as Error).message}`);
  }
  for (const d of list) {
    const rel = relDir === "" ? d.name : `${relDir}/${d.name}`;
    const why = skipReason(d.name);
    if (why) {
      if (!isMcmName(d.name)) out.skipped.push({ path: rel, reason: why });
      continue;
    }
    if (d.isDirectory()) {
      out.dirs.push(rel);
      collectRel(`${dir}/${d.name}`, rel, out);
    } else if (d.isFile()) {
      out.files.push({ rel });
    } else {
      const what = d.isSymbolicLink() ? "a symbolic link (never followed)" : "not a plain file";
      out.skipped.push({ path: rel, reason: what });
    }
  }
}
