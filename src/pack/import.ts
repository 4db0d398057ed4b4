import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { posix } from "node:path";
import { McmError } from "../core/errors.js";
import type { LayoutName } from "../core/types.js";
import { failpoint } from "../failpoint.js";
import { clearLeftovers, runFolder } from "../leftovers.js";
import { lockRoot } from "../prune/lock.js";
import { collectEvery } from "../release-memory.js";
import { plural } from "../report/format.js";
import { FolderSwapped, inRealFolder, mkdirInRoot } from "../safe-fs.js";
import { GROUP_RE, relocateGroup } from "../scan/group.js";
import { SYMLINK } from "./archive-table.js";
import { layoutOfPaths, MCV_ROOTS } from "./detect.js";
import { LSTAT, originOf, planMerge, type Unit } from "./import-plan.js";
import { ArchiveRefused, type Refusal, Stager } from "./import-stage.js";
import { type Tree, treeOf } from "./import-tree.js";
import { readTar } from "./tar-read.js";

export { ArchiveRefused, type Refusal } from "./import-stage.js";

export interface ImportOptions {
  dryRun: boolean;
  /** the most file content the archive may expand to (--max-size); default: defaultMaxBytes() */
  maxBytes?: number;
  /** the folder inside the archive that holds the cache; default: detected */
  root?: string;
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
  const maxBytes = opts.maxBytes ?? defaultMaxBytes(archiveSize(archivePath));
  const given = posix.resolve(dest);
  const destSt = lstatSync(given, LSTAT);
  if (destSt && !statSync(given).isDirectory()) throw new McmError(`destination is not a folder: ${dest}`);
  const createdDest = !destSt && !opts.dryRun;
  if (createdDest) mkdirSync(given, { recursive: true });
  // every later check walks down from the real folder: a link the user chose for the cache is fine
  const destAbs = existsSync(given) ? realpathSync(given) : given;
  // the staging folders of imports that were killed: nothing else removes them
  if (!opts.dryRun) clearLeftovers(destAbs);
  const stage = opts.dryRun ? null : runFolder(destAbs, ".mcm-import");
  const cleanup = () => {
    if (createdDest) {
      try {
        rmdirSync(destAbs); // only when empty: a refused import into a new folder leaves nothing
      } catch {}
    }
  };
  try {
    const s = new Stager(stage?.path ?? null, archivePath, maxBytes);
    // headers and padding come on top of the files' bytes; past twice as much, the stream is no archive
    await readTar(archivePath, (h) => s.entry(h), undefined, 2 * maxBytes + (64 << 20));
    return await planAndApply(s, archivePath, destAbs, stage?.path ?? null, opts);
  } catch (e) {
    stage?.remove();
    cleanup();
    throw e;
  } finally {
    stage?.remove();
  }
}

/** The archive's size; anything but a non-empty regular file (a FIFO, /dev/zero, a folder) is refused. */
export function archiveSize(path: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG")
      throw new McmError(`archive not found: ${path}`);
    throw new McmError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new McmError(`${path} is not a regular file; an archive must be one`);
  if (st.size === 0) throw new McmError(`${path} is empty (0 bytes): not an archive`);
  return st.size;
}

/** What an archive may expand to without --max-size: 20 times its size (kernel caches compress 3 to 10 times), at least 1 GiB. */
export function defaultMaxBytes(archiveBytes: number): number {
  return Math.max(DEFAULT_MIN_MAX_BYTES, EXPANSION_CAP * archiveBytes);
}

export const EXPANSION_CAP = 20;
export const DEFAULT_MIN_MAX_BYTES = 1 << 30;

async function planAndApply(
  s: Stager,
  archivePath: string,
  dest: string,
  stage: string | null,
  opts: ImportOptions,
): Promise<ImportResult> {
  if (s.manifest) {
    const missing = s.verify();
    if (missing.length) {
      throw new ArchiveRefused(
        `${archivePath}: ${missing.length} file${missing.length === 1 ? "" : "s"} listed in the manifest are missing (first: ${missing[0]})`,
      );
    }
    if (s.refused.length) {
      throw new ArchiveRefused(
        `${archivePath}: ${plural(s.refused.length, "unsafe entry")} in an mcm archive (it was altered); nothing imported`,
        s.refused,
      );
    }
  }
  const { tree, root, ignored, tainted } = treeOf(s, opts.root, stage, dest);
  const t = tree.table;

  const release = stage ? await lockRoot(dest) : undefined;
  try {
    const plan = planMerge(tree, dest, tainted);
    const result: ImportResult = {
      archive: archivePath,
      dest,
      dryRun: opts.dryRun,
      format: s.manifest ? "mcm" : MCV_ROOTS.includes(root) ? "mcv" : "plain",
      root,
      layout: s.manifest?.layout ?? layoutOfPaths(tree.rels()),
      verified: s.manifest !== null,
      ...plan.result,
      refused: s.refused,
      ignored,
      groupFilesRewritten: 0,
      origin: s.manifest?.sourceRoot ?? originOf(tree),
      files: 0,
      bytes: 0,
    };
    const stageRoot = tree.stageRoot;
    const collect = collectEvery(20_000);
    for (const u of plan.add) {
      collect();
      const files = tree.isDir(u.node) ? tree.filesUnder(u.node) : [u.node];
      result.files += files.length;
      result.bytes += files.reduce((n, f) => n + t.size(f), 0);
      for (const k of tree.kernelsUnder(u.node)) result.groupFilesRewritten += rewriteGroups(tree, k, dest, stageRoot);
      if (stageRoot) place(tree, u, files, dest, stageRoot, result);
    }
    return result;
  } finally {
    release?.();
  }
}

/** Points a new kernel's group files at its place in `dest` (in the staged copy). */
function rewriteGroups(tree: Tree, kernel: number, dest: string, stageRoot: string | null): number {
  const kernelRel = tree.rel(kernel);
  const nodes = tree.filesUnder(kernel);
  const files = new Set(nodes.map((f) => tree.rel(f, kernel)));
  let n = 0;
  for (const node of nodes) {
    const f = tree.rel(node, kernel);
    const text = GROUP_RE.test(f) ? tree.groupText(node) : undefined;
    if (text === undefined) continue;
    const moved = relocateGroup(text, `${dest}/${kernelRel}`, posix.basename(kernelRel), (x) => files.has(x));
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
function place(tree: Tree, u: Unit, files: number[], dest: string, stageRoot: string, result: ImportResult): void {
  const from = `${stageRoot}/${u.rel}`;
  const to = `${dest}/${u.rel}`;
  const refuse = (reason: string) => {
    const c = { path: u.rel, reason };
    if (u.kernel) {
      result.kernels.added = result.kernels.added.filter((k) => k !== u.rel);
      result.kernels.conflicting.push(c);
    } else result.others.conflicting.push(c);
  };
  failpoint("import.before-place");
  // never through a link a peer put in the destination since the plan (or before it)
  if (!mkdirInRoot(dest, posix.dirname(to))) {
    refuse("its folder in the destination is a link or a file; left out");
    return;
  }
  // links were left for last: no staged write ever went through one
  const t = tree.table;
  for (const f of files) {
    if (t.kind(f) !== SYMLINK) continue;
    const at = `${stageRoot}/${tree.rel(f)}`;
    mkdirSync(posix.dirname(at), { recursive: true });
    symlinkSync(t.links.get(f) as string, at);
  }
  const isDir = tree.isDir(u.node);
  if (isDir) mkdirSync(from, { recursive: true }); // a folder the archive only implied
  try {
    const done = inRealFolder(dest, posix.dirname(to), () => {
      if (isDir) renameSync(from, to);
      else {
        linkSync(from, to);
        unlinkSync(from);
      }
    });
    if (!done.done) refuse("its folder in the destination is a link or a file; left out");
  } catch (e) {
    if (e instanceof FolderSwapped) {
      // swapped during the move: take it back from wherever the link led
      try {
        renameSync(to, from);
      } catch {}
      throw e;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTEMPTY" && code !== "ENOTDIR" && code !== "EISDIR") throw e;
    refuse("appeared in the destination during the import; left untouched");
  }
}
