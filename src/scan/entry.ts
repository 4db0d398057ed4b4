// Reads one child of a Triton cache dir (a kernel folder, a launcher folder, ...)
// with sync calls: a promise per file makes the walk several times slower.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
} from "node:fs";
import { backendByBinaryExt } from "../backends/index.js";
import { jsonTooDeep } from "../core/json-depth.js";
import type { EntryRecord, KernelRecord, LayoutName, OtherKind, ScanWarning, TritonDir } from "../core/types.js";
import { CAPS, formatCap } from "../safe-fs.js";
import { checkGroup, GROUP_RE, parseJson } from "./group.js";
import { asObject, extOf, kernelFacts } from "./kernel-facts.js";
import { errorCode, isInside, isMcmName, warn } from "./util.js";

export interface EntryContext {
  root: string;
  layout: LayoutName;
  dir: TritonDir;
}

interface RawFile {
  name: string;
  size: number;
  mtime: number;
}

const LSTAT = { throwIfNoEntry: false } as const;

/** lstat of each name; symlinks are never followed and warned about when they leave the root. */
function statFiles(dir: string, names: string[], root: string, warnings: ScanWarning[]): RawFile[] {
  const files: RawFile[] = [];
  for (const name of names) {
    const p = `${dir}/${name}`;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p, LSTAT);
    } catch (e) {
      // ENAMETOOLONG, or EACCES in a folder that can be listed but not entered
      warnings.push(warn(p, errorCode(e), `cannot read: ${(e as Error).message}`));
      continue;
    }
    if (!st) continue; // vanished while we looked
    if (st.isSymbolicLink()) {
      checkSymlink(p, root, warnings);
      continue;
    }
    files.push({ name, size: st.size, mtime: st.mtimeMs });
  }
  return files;
}

/**
 * Reads the entry at `path` (a child of ctx.dir), whose lstat the caller has
 * done already. Never throws for bad content.
 */
export function readEntry(path: string, isDir: boolean, dirMtime: number, ctx: EntryContext): EntryRecord {
  const key = path.slice(path.lastIndexOf("/") + 1);
  const warnings: ScanWarning[] = [];
  const other = (kind: OtherKind, files: RawFile[]): EntryRecord => ({
    kind,
    path,
    root: ctx.root,
    container: ctx.dir.path,
    bytes: files.reduce((s, f) => s + f.size, 0),
    files: files.length,
    dirMtime,
    warnings,
  });

  if (!isDir) {
    const parent = path.slice(0, path.lastIndexOf("/"));
    return other(classifyOther(key, [key]), statFiles(parent, [key], ctx.root, warnings));
  }
  let all: string[];
  try {
    all = readdirSync(path);
  } catch (e) {
    warnings.push(warn(path, errorCode(e), `cannot read folder: ${(e as Error).message}`));
    return other("other", []);
  }
  const names: string[] = [];
  for (const name of all) {
    if (isMcmName(name)) continue;
    if (name.includes("\uFFFD"))
      warnings.push(warn(`${path}/${name}`, "bad-name", "file name is not valid UTF-8; skipped"));
    else names.push(name);
  }

  if (key.startsWith("tmp.pid_")) return other("tmp", statFiles(path, names, ctx.root, warnings));
  const kernelName = findKernelName(names);
  if (kernelName === null) return other(classifyOther(key, names), statFiles(path, names, ctx.root, warnings));
  return readKernel(path, key, kernelName, names, dirMtime, ctx, warnings);
}

function findKernelName(unsorted: string[]): string | null {
  const names = [...unsorted].sort();
  for (const n of names) {
    const m = GROUP_RE.exec(n);
    if (m) return m[1] as string;
  }
  // no group file: a `<name>.json` beside a binary is still a kernel
  for (const n of names) {
    if (!n.endsWith(".json") || n.endsWith(".autotune.json")) continue;
    const base = n.slice(0, -5);
    if (names.some((o) => o.startsWith(`${base}.`) && backendByBinaryExt(extOf(o)))) return base;
  }
  return null;
}

function classifyOther(key: string, names: string[]): OtherKind {
  if (key.startsWith("tmp.pid_") || key.includes(".tmp.pid_")) return "tmp";
  if (names.length > 0 && names.every((n) => n.endsWith(".autotune.json"))) return "autotune";
  if (names.some((n) => n.startsWith("__triton_launcher"))) return "launcher";
  if (names.some((n) => /_utils.*\.so$/.test(n))) return "utils";
  return "other";
}

const READ_BUF = Buffer.allocUnsafe(1 << 16);
// O_NONBLOCK: a FIFO planted in a shared cache opens at once and reads as empty, never blocks a scan
const O_NOFOLLOW_RDONLY = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads a small file in three calls (open, read, close) into a shared buffer,
 * refusing symlinks (O_NOFOLLOW): metadata and group files are read without an
 * lstat, and their size is what was read.
 */
function readText(path: string, root: string, warnings: ScanWarning[]): { text: string; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, O_NOFOLLOW_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") checkSymlink(path, root, warnings);
    else if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
    }
    return null;
  }
  try {
    const n = readSync(fd, READ_BUF, 0, READ_BUF.length, 0);
    if (n < READ_BUF.length) return { text: READ_BUF.toString("utf8", 0, n), size: n };
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > CAPS.jsonBytes) {
      warnings.push(warn(path, "unreadable", `not read: not a regular file of at most ${formatCap(CAPS.jsonBytes)}`));
      return null;
    }
    const all = readFileSync(fd); // a positional read left the offset at 0
    return { text: all.toString("utf8"), size: all.length };
  } catch (e) {
    warnings.push(warn(path, errorCode(e), `cannot read: ${(e as Error).message}`));
    return null;
  } finally {
    closeSync(fd);
  }
}

type Json = Record<string, unknown>;

function readKernel(
  path: string,
  key: string,
  name: string,
  names: string[],
  dirMtime: number,
  ctx: EntryContext,
  warnings: ScanWarning[],
): KernelRecord {
  const metaName = `${name}.json`;
  const groupName = `__grp__${name}.json`;
  // the two JSON files are read, which gives their size; every other file is lstat-ed
  const raw = statFiles(
    path,
    names.filter((n) => n !== metaName && n !== groupName),
    ctx.root,
    warnings,
  );
  const readInto = (file: string) => {
    if (!names.includes(file)) return null;
    const r = readText(`${path}/${file}`, ctx.root, warnings);
    if (r === null) return null;
    raw.push({ name: file, size: r.size, mtime: 0 });
    return r.text;
  };

  let meta: Json = {};
  let metaText = readInto(metaName);
  if (metaText !== null) {
    const parsed = parseJson(`${path}/${metaName}`, metaText, warnings);
    meta = asObject(parsed);
    // too deep (parseJson warned): not kept in the index either, `show` would overflow the stack printing it
    if (parsed === undefined && jsonTooDeep(metaText)) metaText = null;
  } else if (!names.includes(metaName)) {
    warnings.push(
      warn(`${path}/${metaName}`, "missing-metadata", "kernel has no metadata file; Triton will recompile it"),
    );
  }
  const groupText = readInto(groupName);
  raw.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const facts = kernelFacts(name, meta, raw);
  if (!facts.files.some((f) => f.kind === "binary")) {
    warnings.push(warn(path, "missing-binary", "kernel has no binary; Triton cannot load it"));
  }

  const stale = groupText !== null && checkGroup(`${path}/${groupName}`, groupText, path, key, warnings);

  let modified = 0;
  for (const f of raw) modified = Math.max(modified, f.mtime);

  return {
    kind: "kernel",
    path,
    root: ctx.root,
    container: ctx.dir.path,
    layout: ctx.layout,
    key,
    ...facts,
    dirMtime,
    modifiedTime: modified || dirMtime,
    metadata: metaText,
    staleGroupPaths: stale,
    vllmHash: ctx.dir.vllmHash,
    rank: ctx.dir.rank,
    prefix: ctx.dir.prefix,
    embedded: 0,
    warnings,
  };
}

function checkSymlink(p: string, root: string, warnings: ScanWarning[]): void {
  let target: string;
  try {
    target = realpathSync(p);
  } catch {
    return; // dangling link: nothing to follow, nothing to warn about
  }
  if (!isInside(root, target)) {
    warnings.push(warn(p, "symlink-escape", `symbolic link leaves the cache root (to ${target}); not followed`));
  }
}
