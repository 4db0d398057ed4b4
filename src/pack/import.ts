// `mcm import`: a cache archive into a cache folder, safely and kernel by
// kernel. One pass over the archive stages every entry it accepts in a folder
// inside the destination (checking names, types, sizes and sha256 as it
// goes); the plan then compares the staged tree with the destination, and only
// then does each new kernel (or other entry) move into place with one rename.
// A dry run shares every line but the writes.
import { createHash, type Hash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { posix } from "node:path";
import { McmError } from "../core/errors.js";
import type { LayoutName } from "../core/types.js";
import { lockRoot } from "../prune/lock.js";
import { GROUP_RE, groupOrigin, relocateGroup } from "../scan/group.js";
import { isMcmName } from "../scan/util.js";
import { detectRoot, layoutOfPaths, MCV_ROOTS } from "./detect.js";
import { ENTRY_PATH_RE, rootFreeDigest } from "./inductor-paths.js";
import { MANIFEST_NAME, type Manifest, type ManifestFile, parseManifest } from "./manifest.js";
import { readTar, type TarHeader } from "./tar-read.js";

export interface ImportOptions {
  dryRun: boolean;
  /** the folder inside the archive that holds the cache; default: detected */
  root?: string;
}

export interface Refusal {
  entry: string;
  reason: string;
}

export interface Conflict {
  /** relative to the destination */
  path: string;
  reason: string;
}

export interface ImportResult {
  archive: string;
  dest: string;
  dryRun: boolean;
  /** "mcm": has mcm-manifest.json; "mcv": an MCV image layer; "plain": a tarball of a cache folder */
  format: "mcm" | "mcv" | "plain";
  /** the folder inside the archive that holds the cache ("" for its top) */
  root: string;
  layout: LayoutName;
  /** every file's size and sha256 were checked against the manifest */
  verified: boolean;
  /** kernel folders, relative to the destination */
  kernels: { added: string[]; identical: string[]; conflicting: Conflict[] };
  /** everything else, counted in files */
  others: { added: number; identical: number; conflicting: Conflict[] };
  /** entries not imported because they are unsafe (their kernel is left out whole) */
  refused: Refusal[];
  /** entries outside the cache folder of the archive (an MCV manifest, mcm's own files) */
  ignored: string[];
  groupFilesRewritten: number;
  /** where the cache was compiled: the manifest's record, else the root its group files point at */
  origin: string | null;
  /** files written (or, in a dry run, that would be) and their bytes */
  files: number;
  bytes: number;
}

/** The whole archive was refused: nothing was written. */
export class ArchiveRefused extends McmError {
  constructor(
    message: string,
    readonly refused: Refusal[] = [],
  ) {
    super(message, 2);
  }
}

type RecType = "file" | "dir" | "hardlink" | "symlink";

interface Rec {
  type: RecType;
  size: number;
  sha256?: string;
  exec: boolean;
  link?: string;
  /** group files and the manifest: their text */
  text?: string;
  /** an Inductor cache entry: its digest with its code paths' root left out (inductor-paths.ts) */
  rootFree?: string | null;
  staged: boolean;
}

/** Does a symbolic link at `path` (relative) to `link` point above the top `path` is relative to? */
function leavesTop(path: string, link: string): boolean {
  const target = posix.normalize(posix.join(posix.dirname(path), link));
  return target === ".." || target.startsWith("../");
}

/** A clean relative path ("a/b"), or a reason it is not one. */
function cleanName(raw: string): { path: string } | { reason: string } {
  if (raw.startsWith("/")) return { reason: "absolute path" };
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return { reason: "'..' in the path" };
  return { path: parts.join("/") };
}

class Stager {
  readonly records = new Map<string, Rec>();
  readonly refused: Refusal[] = [];
  /** parents of refused entries: their kernel folders are left out */
  readonly tainted = new Set<string>();
  manifest: Manifest | null = null;
  expected: Map<string, ManifestFile> | null = null;
  private first = true;

  constructor(
    readonly stage: string | null,
    readonly archive: string,
  ) {}

  private refuse(entry: string, reason: string, path?: string): undefined {
    this.refused.push({ entry, reason });
    if (path !== undefined) this.tainted.add(posix.dirname(path));
    return undefined;
  }

  /** Refuses a path that goes through an entry that is not a folder (a link or a file). */
  private throughNonDir(path: string): boolean {
    let i = path.indexOf("/");
    while (i > 0) {
      const r = this.records.get(path.slice(0, i));
      if (r && r.type !== "dir") return true;
      i = path.indexOf("/", i + 1);
    }
    return false;
  }

  entry(h: TarHeader): ((c: Buffer | null) => void) | undefined {
    const wasFirst = this.first;
    this.first = false;
    const clean = cleanName(h.name);
    if ("reason" in clean) return this.refuse(h.name, clean.reason);
    const path = clean.path;
    if (path === "") return undefined; // "./"
    if (h.type === "device" || h.type === "fifo") return this.refuse(h.name, `a ${h.type} (flag '${h.flag}')`, path);
    if (h.type === "other") return this.refuse(h.name, `unsupported entry type '${h.flag}'`, path);
    const seen = this.records.get(path);
    if (seen?.type === "dir" && h.type === "dir") return undefined;
    if (seen) return this.refuse(h.name, "appears twice in the archive", path);
    if (this.throughNonDir(path)) return this.refuse(h.name, "its folder is a link or a file in the archive", path);
    const isManifest = path === MANIFEST_NAME && h.type === "file";
    if (!isManifest && this.expected && h.type !== "dir") this.checkListed(path, h.type === "file" ? h.size : null);

    const rec: Rec = { type: h.type, size: h.size, exec: (h.mode & 0o100) !== 0, staged: false };
    if (h.type === "dir") {
      this.records.set(path, rec);
      if (this.stage) mkdirSync(`${this.stage}/${path}`, { recursive: true });
      return undefined;
    }
    if (h.type === "symlink") {
      if (h.linkname.startsWith("/"))
        return this.refuse(h.name, `symbolic link to an absolute path (${h.linkname})`, path);
      if (leavesTop(path, h.linkname)) {
        return this.refuse(h.name, `symbolic link leaving the destination (${h.linkname})`, path);
      }
      this.records.set(path, { ...rec, link: h.linkname });
      return undefined;
    }
    if (h.type === "hardlink") {
      const t = cleanName(h.linkname);
      const target = "path" in t ? this.records.get(t.path) : undefined;
      if (!("path" in t) || !target || (target.type !== "file" && target.type !== "hardlink")) {
        return this.refuse(h.name, `hard link to ${h.linkname}, which is not a file earlier in the archive`, path);
      }
      const link = t.path;
      if (this.expected) this.checkContent(path, target.size, target.sha256);
      // a staged target means there is a stage
      if (target.staged) {
        mkdirSync(posix.dirname(`${this.stage}/${path}`), { recursive: true });
        linkSync(`${this.stage}/${link}`, `${this.stage}/${path}`);
      }
      const { size, sha256, exec, staged } = target;
      this.records.set(path, { ...rec, size, sha256, link, exec, staged });
      return undefined;
    }
    return this.file(path, rec, isManifest, wasFirst);
  }

  checkListed(path: string, size: number | null): void {
    const e = this.expected?.get(path);
    if (!e) throw new ArchiveRefused(`${this.archive}: ${path} is not listed in the archive's manifest`);
    if (size !== null && e.size !== size) {
      throw new ArchiveRefused(`${this.archive}: ${path} holds ${size} bytes, the manifest says ${e.size}`);
    }
  }

  checkContent(path: string, size: number, sha256: string | undefined): void {
    const e = this.expected?.get(path);
    if (e && (e.size !== size || e.sha256 !== sha256)) {
      throw new ArchiveRefused(`${this.archive}: checksum mismatch for ${path} (the archive was altered or damaged)`);
    }
  }

  private file(path: string, rec: Rec, manifest: boolean, first: boolean): (c: Buffer | null) => void {
    const hash: Hash = createHash("sha256");
    const keepText = manifest || GROUP_RE.test(posix.basename(path));
    // Inductor entries are compared with the destination's once both are relocated (they are rewritten there)
    const entry = !keepText && ENTRY_PATH_RE.test(path) && rec.size <= MAX_ENTRY_BYTES;
    const parts: Buffer[] = [];
    let fd: number | null = null;
    if (this.stage && !manifest) {
      const abs = `${this.stage}/${path}`;
      mkdirSync(posix.dirname(abs), { recursive: true });
      fd = openSync(abs, "wx", rec.exec ? 0o755 : 0o644);
    }
    this.records.set(path, rec);
    return (chunk) => {
      if (chunk) {
        hash.update(chunk);
        if (keepText || entry) parts.push(Buffer.from(chunk));
        if (fd !== null) {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        }
        return;
      }
      if (fd !== null) closeSync(fd);
      rec.sha256 = hash.digest("hex");
      rec.staged = fd !== null;
      if (keepText) rec.text = Buffer.concat(parts).toString("utf8");
      if (entry) rec.rootFree = rootFreeDigest(Buffer.concat(parts));
      if (manifest) {
        this.manifest = parseManifest(rec.text as string);
        // first in the archive (as mcm writes it): every later entry is checked as it comes
        if (first) this.expected = new Map(this.manifest.files.map((f) => [f.path, f]));
      } else if (this.expected) this.checkContent(path, rec.size, rec.sha256);
    };
  }
}

/** Everything under `dir` (files, links), relative to it, skipping mcm's own names. */
function destFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const d of readdirSync(rel ? `${dir}/${rel}` : dir, { withFileTypes: true })) {
    if (isMcmName(d.name)) continue;
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...destFiles(dir, r));
    else out.push(r);
  }
  return out;
}

const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** A group file's content as it would read once pointed at `dir`, normalised for comparing. */
function groupAt(text: string, dir: string, exists: (f: string) => boolean): string {
  const moved = relocateGroup(text, dir, posix.basename(dir), exists)?.text ?? text;
  try {
    return JSON.stringify(JSON.parse(moved));
  } catch {
    return moved;
  }
}

interface Unit {
  /** relative to the cache root of the archive, and to the destination */
  rel: string;
  kernel: boolean;
}

/** The archive's tree, relative to the root it holds the cache in. */
class Tree {
  readonly children = new Map<string, Set<string>>();
  readonly recs = new Map<string, Rec & { archivePath: string }>();

  add(rel: string, rec: Rec & { archivePath: string }): void {
    this.recs.set(rel, rec);
    let child = rel;
    while (child !== "") {
      const parent = child.includes("/") ? child.slice(0, child.lastIndexOf("/")) : "";
      let set = this.children.get(parent);
      if (!set) {
        set = new Set();
        this.children.set(parent, set);
      }
      if (set.has(child)) break;
      set.add(child);
      child = parent;
    }
  }

  isDir(rel: string): boolean {
    return rel === "" || this.children.has(rel) || this.recs.get(rel)?.type === "dir";
  }

  isKernel(rel: string): boolean {
    return [...(this.children.get(rel) ?? [])].some(
      (c) => this.recs.get(c)?.type === "file" && GROUP_RE.test(posix.basename(c)),
    );
  }

  /** Every non-folder entry under `rel`, relative to `rel`. */
  filesUnder(rel: string): string[] {
    const out: string[] = [];
    const walk = (r: string) => {
      for (const c of this.children.get(r) ?? []) {
        if (this.isDir(c)) walk(c);
        else out.push(c.slice(rel.length + 1));
      }
    };
    walk(rel);
    return out;
  }

  kernelsUnder(rel: string): string[] {
    const out: string[] = [];
    const walk = (r: string) => {
      if (this.isKernel(r)) out.push(r);
      for (const c of this.children.get(r) ?? []) if (this.isDir(c)) walk(c);
    };
    walk(rel);
    return out;
  }
}

interface Plan {
  add: Unit[];
  result: Pick<ImportResult, "kernels" | "others">;
}

const LSTAT = { throwIfNoEntry: false } as const;
/** Inductor entries up to this size are compared once relocated; bigger ones by their bytes only */
const MAX_ENTRY_BYTES = 256 << 20;

function planMerge(tree: Tree, dest: string, tainted: (rel: string) => boolean): Plan {
  const plan: Plan = {
    add: [],
    result: {
      kernels: { added: [], identical: [], conflicting: [] },
      others: { added: 0, identical: 0, conflicting: [] },
    },
  };
  const { kernels, others } = plan.result;
  const visit = (dirRel: string) => {
    for (const rel of [...(tree.children.get(dirRel) ?? [])].sort()) {
      const st = lstatSync(`${dest}/${rel}`, LSTAT);
      const isDir = tree.isDir(rel);
      if (isDir && tree.isKernel(rel)) {
        if (tainted(rel)) continue;
        if (!st) {
          plan.add.push({ rel, kernel: true });
          kernels.added.push(rel);
        } else if (!st.isDirectory()) {
          kernels.conflicting.push({ path: rel, reason: "a file of that name is in the way" });
        } else {
          const why = compareKernel(tree, rel, `${dest}/${rel}`);
          if (why === null) kernels.identical.push(rel);
          else kernels.conflicting.push({ path: rel, reason: why });
        }
      } else if (isDir) {
        if (st && !st.isDirectory()) {
          others.conflicting.push({ path: rel, reason: "a file of that name is in the way" });
        } else if (!st && !hasTaint(tree, rel, tainted)) {
          plan.add.push({ rel, kernel: false });
          const under = tree.kernelsUnder(rel);
          kernels.added.push(...under);
          others.added += tree.filesUnder(rel).length - under.reduce((n, k) => n + tree.filesUnder(k).length, 0);
        } else visit(rel);
      } else {
        if (!st) {
          plan.add.push({ rel, kernel: false });
          others.added++;
          continue;
        }
        const rec = tree.recs.get(rel) as Rec;
        if (st.isFile() && rec.type !== "symlink" && sameOther(`${dest}/${rel}`, st.size, rec)) {
          others.identical++;
        } else others.conflicting.push({ path: rel, reason: "a different file of that name exists" });
      }
    }
  };
  visit("");
  return plan;
}

/** The root the archive's group files point at. */
function originOf(tree: Tree): string | null {
  const groups = [...tree.recs].flatMap(([rel, rec]) =>
    rec.text !== undefined && GROUP_RE.test(posix.basename(rel)) ? [{ rel: posix.dirname(rel), text: rec.text }] : [],
  );
  return groupOrigin(groups);
}

/** Whether the destination's file holds what the archive's does (an Inductor entry: once relocated). */
function sameOther(abs: string, size: number, rec: Rec): boolean {
  if (size === rec.size && sha256Of(abs) === rec.sha256) return true;
  if (!rec.rootFree || size > MAX_ENTRY_BYTES) return false;
  return rootFreeDigest(readFileSync(abs)) === rec.rootFree;
}

function hasTaint(tree: Tree, rel: string, tainted: (rel: string) => boolean): boolean {
  return tainted(rel) || [...(tree.children.get(rel) ?? [])].some((c) => tree.isDir(c) && hasTaint(tree, c, tainted));
}

/** Null when the destination's kernel folder holds the same files (group paths compared once relocated). */
function compareKernel(tree: Tree, rel: string, destDir: string): string | null {
  const mine = tree.filesUnder(rel);
  const theirs = destFiles(destDir);
  const mineSet = new Set(mine);
  const theirSet = new Set(theirs);
  const missing = mine.filter((f) => !theirSet.has(f)).length;
  const extra = theirs.filter((f) => !mineSet.has(f)).length;
  let differ = 0;
  for (const f of mine) {
    if (!theirSet.has(f)) continue;
    const rec = tree.recs.get(`${rel}/${f}`) as Rec;
    const abs = `${destDir}/${f}`;
    const st = lstatSync(abs, LSTAT);
    if (!st?.isFile() || rec.type === "symlink") {
      differ++;
      continue;
    }
    if (GROUP_RE.test(f) && rec.text !== undefined) {
      const a = groupAt(rec.text, destDir, (x) => mineSet.has(x));
      const b = groupAt(readFileSync(abs, "utf8"), destDir, (x) => theirSet.has(x));
      if (a !== b) differ++;
    } else if (st.size !== rec.size || sha256Of(abs) !== rec.sha256) differ++;
  }
  if (missing + extra + differ === 0) return null;
  const parts = [
    differ && `${differ} file${differ === 1 ? "" : "s"} differ`,
    missing && `${missing} missing here`,
    extra && `${extra} extra here`,
  ].filter(Boolean);
  return `already present with different content (${parts.join(", ")}); left untouched`;
}

/**
 * Imports the cache archive at `archivePath` into the cache folder `dest`.
 * Unsafe entries are refused (listed; their kernel is left out); an archive
 * whose content disagrees with its manifest is refused whole (ArchiveRefused,
 * nothing written). Kernels already present with the same content are
 * skipped; with different content, reported and left untouched. Group files of
 * new kernels are pointed at the destination. Takes the cache's lock while it
 * writes. The caller indexes `dest` afterwards.
 */
export async function importArchive(archivePath: string, dest: string, opts: ImportOptions): Promise<ImportResult> {
  if (!existsSync(archivePath)) throw new McmError(`archive not found: ${archivePath}`);
  const destAbs = posix.resolve(dest);
  const destSt = lstatSync(destAbs, LSTAT);
  if (destSt && !destSt.isDirectory()) throw new McmError(`destination is not a folder: ${dest}`);
  const createdDest = !destSt && !opts.dryRun;
  if (createdDest) mkdirSync(destAbs, { recursive: true });
  const stage = opts.dryRun ? null : `${destAbs}/.mcm-import-${process.pid}-${randomBytes(4).toString("hex")}`;
  if (stage) mkdirSync(stage);
  const cleanup = () => {
    if (stage) rmSync(stage, { recursive: true, force: true });
    if (createdDest) {
      try {
        rmdirSync(destAbs); // only when empty: a refused import into a new folder leaves nothing
      } catch {}
    }
  };
  try {
    const s = new Stager(stage, archivePath);
    await readTar(archivePath, (h) => s.entry(h));
    return await planAndApply(s, archivePath, destAbs, stage, opts);
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    if (stage) rmSync(stage, { recursive: true, force: true });
  }
}

/** Every file against the manifest, wherever in the archive it stood. */
function verify(s: Stager, archivePath: string): void {
  const m = s.manifest as Manifest;
  s.expected = new Map(m.files.map((f) => [f.path, f]));
  for (const [p, rec] of s.records) {
    if (p === MANIFEST_NAME || rec.type === "dir") continue;
    s.checkListed(p, rec.type === "symlink" ? null : rec.size);
    if (rec.type === "symlink")
      throw new ArchiveRefused(`${archivePath}: ${p} is a link where the manifest lists a file`);
    s.checkContent(p, rec.size, rec.sha256);
  }
}

async function planAndApply(
  s: Stager,
  archivePath: string,
  dest: string,
  stage: string | null,
  opts: ImportOptions,
): Promise<ImportResult> {
  if (s.manifest) {
    verify(s, archivePath);
    const missing = s.manifest.files.map((f) => f.path).filter((p) => !s.records.has(p));
    if (missing.length) {
      throw new ArchiveRefused(
        `${archivePath}: ${missing.length} file${missing.length === 1 ? "" : "s"} listed in the manifest are missing (first: ${missing[0]})`,
      );
    }
    if (s.refused.length) {
      throw new ArchiveRefused(
        `${archivePath}: ${s.refused.length} unsafe entr${s.refused.length === 1 ? "y" : "ies"} in an mcm archive (it was altered); nothing imported`,
        s.refused,
      );
    }
  }
  const paths = [...s.records.keys()];
  const root = opts.root !== undefined ? opts.root.split("/").filter(Boolean).join("/") : detectRoot(paths);
  const tree = new Tree();
  const ignored: string[] = [];
  for (const [p, rec] of s.records) {
    if (p === MANIFEST_NAME && s.manifest && root === "") continue;
    if (root !== "" && p === root) continue;
    const rel = root === "" ? p : p.startsWith(`${root}/`) ? p.slice(root.length + 1) : null;
    if (rel === null || rel.split("/").some(isMcmName)) {
      ignored.push(p);
      continue;
    }
    // the archive's top was checked as it was read; the cache folder inside it may be lower
    if (rec.type === "symlink" && leavesTop(rel, rec.link as string)) {
      s.refused.push({ entry: p, reason: `symbolic link leaving the destination (${rec.link})` });
      s.tainted.add(posix.dirname(p));
      continue;
    }
    tree.add(rel, { ...rec, archivePath: p });
  }
  const taintedRel = new Set(
    [...s.tainted].map((d) => (root === "" ? d : d.startsWith(`${root}/`) ? d.slice(root.length + 1) : null)),
  );
  const tainted = (rel: string) => taintedRel.has(rel);

  const release = stage ? await lockRoot(dest) : undefined;
  try {
    const plan = planMerge(tree, dest, tainted);
    const result: ImportResult = {
      archive: archivePath,
      dest,
      dryRun: opts.dryRun,
      format: s.manifest ? "mcm" : MCV_ROOTS.includes(root) ? "mcv" : "plain",
      root,
      layout: s.manifest?.layout ?? layoutOfPaths([...tree.recs.keys()]),
      verified: s.manifest !== null,
      ...plan.result,
      refused: s.refused,
      ignored,
      groupFilesRewritten: 0,
      origin: s.manifest?.sourceRoot ?? originOf(tree),
      files: 0,
      bytes: 0,
    };
    const stageRoot = stage ? (root ? `${stage}/${root}` : stage) : null;
    for (const u of plan.add) {
      const files = tree.isDir(u.rel) ? tree.filesUnder(u.rel).map((f) => `${u.rel}/${f}`) : [u.rel];
      result.files += files.length;
      result.bytes += files.reduce((n, f) => n + (tree.recs.get(f)?.size ?? 0), 0);
      for (const k of tree.kernelsUnder(u.rel)) result.groupFilesRewritten += rewriteGroups(tree, k, dest, stageRoot);
      if (stageRoot) place(tree, u, files, dest, stageRoot, result);
    }
    return result;
  } finally {
    release?.();
  }
}

/** Points a new kernel's group files at its place in `dest` (in the staged copy). */
function rewriteGroups(tree: Tree, kernelRel: string, dest: string, stageRoot: string | null): number {
  const files = new Set(tree.filesUnder(kernelRel));
  let n = 0;
  for (const f of files) {
    const rec = tree.recs.get(`${kernelRel}/${f}`);
    if (!GROUP_RE.test(f) || rec?.text === undefined) continue;
    const moved = relocateGroup(rec.text, `${dest}/${kernelRel}`, posix.basename(kernelRel), (x) => files.has(x));
    if (!moved) continue;
    n++;
    if (stageRoot) {
      const abs = `${stageRoot}/${kernelRel}/${f}`;
      // a new file, not a write through a hard link the archive may have made
      unlinkSync(abs);
      writeFileSync(abs, moved.text, { mode: 0o644, flag: "wx" });
    }
  }
  return n;
}

/**
 * Moves one staged unit (its non-folder `files`, relative to the root) into place:
 * a folder with one rename, a file with a link that never replaces.
 */
function place(tree: Tree, u: Unit, files: string[], dest: string, stageRoot: string, result: ImportResult): void {
  const from = `${stageRoot}/${u.rel}`;
  const to = `${dest}/${u.rel}`;
  mkdirSync(posix.dirname(to), { recursive: true });
  // links were left for last: no staged write ever went through one
  for (const f of files) {
    const rec = tree.recs.get(f);
    if (rec?.type === "symlink") {
      mkdirSync(posix.dirname(`${stageRoot}/${f}`), { recursive: true });
      symlinkSync(rec.link as string, `${stageRoot}/${f}`);
    }
  }
  try {
    if (tree.isDir(u.rel)) {
      mkdirSync(from, { recursive: true }); // a folder the archive only implied
      renameSync(from, to);
    } else {
      linkSync(from, to);
      unlinkSync(from);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTEMPTY") throw e;
    const c = { path: u.rel, reason: "appeared in the destination during the import; left untouched" };
    if (u.kernel) {
      result.kernels.added = result.kernels.added.filter((k) => k !== u.rel);
      result.kernels.conflicting.push(c);
    } else result.others.conflicting.push(c);
  }
}
