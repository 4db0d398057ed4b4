// The absolute paths an Inductor cache carries in its FX-graph entries
// (docs/research/absolute-paths.md): each statically launched autotuner keeps
// the path of its kernel module (`<root>/<2 chars>/<name>.py`) and of its
// autotune result (`<root>/<2 chars>/<key>.best_config`) where it was compiled.
// Inductor reads and writes the .best_config there, so a moved cache would
// write at its old path (or crash when a file blocks it). This points them at
// the cache's own root: only strings that are exactly such a path change.
import { createHash } from "node:crypto";
import { closeSync, lstatSync, readdirSync, readSync } from "node:fs";
import type { ScanWarning } from "../core/types.js";
import { PickleError } from "../scan/pickle-values.js";
import { openCapped, readFileCapped } from "../scan/vllm-unit.js";
import { rewritePickleStrings } from "./pickle-rewrite.js";

/** `<root>/<two-character folder>/<file>.py|.best_config`, nothing else */
const CODE_PATH_RE = /^(\/.+)\/([a-z0-9_]{2})\/([^/\n]+\.(?:py|best_config))$/;

/** The path `s` names under `root` instead, when it is a code path under another root. */
export function codePathAt(s: string, root: string): string | undefined {
  const m = CODE_PATH_RE.exec(s);
  if (!m || m[1] === root) return undefined;
  return `${root}/${m[2]}/${m[3]}`;
}

/** The roots the code paths of a pickle name (where it was compiled), from its strings. */
export function codePathRoots(strings: Iterable<string>): string[] {
  const roots = new Set<string>();
  for (const s of strings) {
    const m = CODE_PATH_RE.exec(s);
    if (m) roots.add(m[1] as string);
  }
  return [...roots];
}

/** The FX-graph and AOTAutograd entry files of an Inductor root: fxgraph/<2>/<key>/<file>, aotautograd/<key>/<file>. */
export function cacheEntryFiles(root: string): string[] {
  const files: string[] = [];
  const dirs = (p: string) => {
    try {
      return readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith("."));
    } catch {
      return [];
    }
  };
  const leaves = (p: string) => {
    try {
      for (const e of readdirSync(p, { withFileTypes: true })) {
        if (e.isFile() && !e.name.startsWith(".")) files.push(`${p}/${e.name}`);
      }
    } catch {
      // gone or unreadable: nothing to rewrite there
    }
  };
  // below the top, the listings' own types never follow a link; the top two are checked here
  const realDir = (p: string) => lstatSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
  if (realDir(`${root}/fxgraph`)) {
    for (const two of dirs(`${root}/fxgraph`)) {
      for (const key of dirs(`${root}/fxgraph/${two.name}`)) leaves(`${root}/fxgraph/${two.name}/${key.name}`);
    }
  }
  if (realDir(`${root}/aotautograd`)) {
    for (const key of dirs(`${root}/aotautograd`)) leaves(`${root}/aotautograd/${key.name}`);
  }
  return files;
}

export interface EntryRewrite {
  file: string;
  /** sha256 of the bytes the plan was made from */
  digest: string;
  paths: number;
  data: Uint8Array;
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * The rewrite of one entry file that points its code paths at `root`, or null
 * when it has none pointing elsewhere (or is not a pickle mcm can walk).
 */
export function rewriteEntry(file: string, root: string, warnings: ScanWarning[]): EntryRewrite | null {
  const read = readFileCapped(file, warnings);
  if (read?.data[0] !== 0x80) return null; // every entry starts with PROTO (and a read one is there)
  try {
    const r = rewritePickleStrings(read.data, (s) => codePathAt(s, root));
    if (r.changed === 0) return null;
    return { file, digest: sha256(read.data), paths: r.changed, data: r.data };
  } catch (e) {
    if (!(e instanceof PickleError)) throw e;
    warnings.push({ path: file, code: "bad-artifact", message: `not rewritten: ${e.message}` });
    return null;
  }
}

/** Whether `root` looks like an Inductor cache root (has fxgraph/ or aotautograd/). */
export function isInductorRoot(root: string): boolean {
  for (const d of ["fxgraph", "aotautograd"]) {
    try {
      if (lstatSync(`${root}/${d}`).isDirectory()) return true;
    } catch {
      // absent
    }
  }
  return false;
}

/** An FX-graph or AOTAutograd entry file, by its path relative to a cache (any depth). */
export const ENTRY_PATH_RE = /(?:^|\/)(?:fxgraph\/[^/]+\/[^/]+|aotautograd\/[^/]+)\/[^/.][^/]*$/;

const ANY_ROOT = "/\u0000root";

/**
 * A digest of an entry that leaves out where it was compiled: every code path's
 * root is replaced by one placeholder. Two copies of one entry, relocated to
 * different roots, have the same one. Null when it is not a pickle mcm walks.
 */
export function rootFreeDigest(data: Uint8Array): string | null {
  if (data[0] !== 0x80) return null;
  try {
    return sha256(rewritePickleStrings(data, (s) => codePathAt(s, ANY_ROOT)).data);
  } catch (e) {
    if (e instanceof PickleError) return null;
    throw e;
  }
}

/** a code path as its bytes appear inside an artifact (a pickled string, uncompressed) */
const EMBEDDED_RE = /\/[A-Za-z0-9_.+@%=,:~/-]+?\/[a-z0-9_]{2}\/[A-Za-z0-9_.-]+\.(?:py|best_config)/g;
const CHUNK = 4 << 20;

/**
 * The roots of the code paths inside one vLLM artifact or AOT model (which mcm
 * does not rewrite: CRC frames, length prefixes, nested pickles), found by
 * their bytes. Read in chunks that overlap by the longest path.
 */
export function embeddedCodeRoots(path: string, warnings: ScanWarning[]): string[] {
  const f = openCapped(path, warnings);
  if (!f) return [];
  const roots = new Set<string>();
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry = "";
    for (let pos = 0; pos < f.size; ) {
      const n = readSync(f.fd, buf, 0, Math.min(CHUNK, f.size - pos), pos);
      if (n === 0) break;
      pos += n;
      const text = carry + buf.toString("latin1", 0, n);
      for (const m of text.matchAll(EMBEDDED_RE)) {
        const root = CODE_PATH_RE.exec(m[0])?.[1];
        if (root) roots.add(root);
      }
      carry = text.slice(-4096);
    }
  } finally {
    closeSync(f.fd);
  }
  return [...roots].sort();
}
