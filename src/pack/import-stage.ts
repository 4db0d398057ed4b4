// The one pass over an import's archive: each entry's name, type, size and
// sha256 checked as it comes (against the manifest, when it is the first
// entry), what is accepted written into the staging folder, what is not
// refused and its kernel tainted.
import { createHash, type Hash } from "node:crypto";
import { closeSync, linkSync, mkdirSync, openSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { McmError } from "../core/errors.js";
import { releaseMemory } from "../release-memory.js";
import { size } from "../report/format.js";
import { CAPS, formatCap } from "../safe-fs.js";
import { GROUP_RE } from "../scan/group.js";
import { ENTRY_PATH_RE, rootFreeDigest } from "./inductor-paths.js";
import { MANIFEST_NAME, type Manifest, type ManifestFile } from "./manifest.js";
import { checkManifestSize, ManifestReader } from "./manifest-read.js";
import type { TarHeader } from "./tar-read.js";

export interface Refusal {
  entry: string;
  reason: string;
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

/** Inductor entries up to this size are compared once relocated; bigger ones by their bytes only */
export const MAX_ENTRY_BYTES = 256 << 20;

type RecType = "file" | "dir" | "hardlink" | "symlink";

/** One entry of the archive. A class, every field set from the start: a hundred thousand share one shape. */
export class Rec {
  sha256: string | undefined = undefined;
  /** a symbolic link's target */
  link: string | undefined = undefined;
  /** group files: their text */
  text: string | undefined = undefined;
  /** an Inductor cache entry: its digest with its code paths' root left out (inductor-paths.ts) */
  rootFree: string | null | undefined = undefined;

  constructor(
    readonly type: RecType,
    readonly size: number,
    readonly exec: boolean,
    public staged = false,
  ) {}
}

/** Does a symbolic link at `path` (relative) to `link` point above the top `path` is relative to? */
export function leavesTop(path: string, link: string): boolean {
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

/** Entries between two full collections while an archive is read (each costs about 0.1 s at 100k kernels). */
const COLLECT_EVERY = 50_000;

export class Stager {
  readonly records = new Map<string, Rec>();
  readonly refused: Refusal[] = [];
  /** parents of refused entries: their kernel folders are left out */
  readonly tainted = new Set<string>();
  /** what the import uses of the archive's manifest (its kernel and file lists are not kept) */
  manifest: Pick<Manifest, "layout" | "sourceRoot"> | null = null;
  /** the manifest's files not yet matched by an entry: each leaves once its entry is checked */
  expected: Map<string, ManifestFile> | null = null;
  /** the manifest's file list, kept only when the manifest came after other entries (checked by verify) */
  files: ManifestFile[] | null = null;
  private first = true;
  private entries = 0;
  /** bytes of file content so far */
  private total = 0;

  constructor(
    readonly stage: string | null,
    readonly archive: string,
    /** the most file content the archive may hold (--max-size) */
    readonly maxBytes: number,
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
    // V8 lets what each entry leaves behind pile up to several times what the records hold: a collection now and then
    if (++this.entries % COLLECT_EVERY === 0) releaseMemory();
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
    if (!isManifest && this.expected && h.type !== "dir") {
      this.checkListed(path, h.type === "file" ? h.size : null);
      if (h.type === "symlink")
        throw new ArchiveRefused(`${this.archive}: ${path} is a link where the manifest lists a file`);
    }

    const rec = new Rec(h.type, h.size, (h.mode & 0o100) !== 0);
    if (h.type === "dir") {
      this.records.set(path, rec);
      if (this.stage) mkdirSync(`${this.stage}/${path}`, { recursive: true });
      return undefined;
    }
    if (h.type === "symlink") {
      if (h.linkname === "") return this.refuse(h.name, "symbolic link with an empty target", path);
      if (h.linkname.startsWith("/"))
        return this.refuse(h.name, `symbolic link to an absolute path (${h.linkname})`, path);
      if (leavesTop(path, h.linkname)) {
        return this.refuse(h.name, `symbolic link leaving the destination (${h.linkname})`, path);
      }
      rec.link = h.linkname;
      this.records.set(path, rec);
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
      // the link's own record: its target's content (the name it links to is not needed past here)
      const same = new Rec("hardlink", target.size, target.exec, target.staged);
      same.sha256 = target.sha256;
      this.records.set(path, same);
      return undefined;
    }
    this.total += h.size;
    if (this.total > this.maxBytes) {
      throw new ArchiveRefused(
        `${this.archive}: holds more than ${size(this.maxBytes)} of files (a bomb?); nothing imported (--max-size raises the cap)`,
      );
    }
    if (isManifest) checkManifestSize(h.size);
    else if (GROUP_RE.test(posix.basename(path)) && h.size > CAPS.groupBytes) {
      return this.refuse(h.name, `a group file larger than ${formatCap(CAPS.groupBytes)}`, path);
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

  /** Checks an entry's content against its listing, which then leaves `expected`: what stays there is missing. */
  checkContent(path: string, size: number, sha256: string | undefined): void {
    const e = this.expected?.get(path);
    if (e && (e.size !== size || e.sha256 !== sha256)) {
      throw new ArchiveRefused(`${this.archive}: checksum mismatch for ${path} (the archive was altered or damaged)`);
    }
    this.expected?.delete(path);
  }

  private file(path: string, rec: Rec, manifest: boolean, first: boolean): (c: Buffer | null) => void {
    const hash: Hash = createHash("sha256");
    // the manifest is read as it comes, never held as text
    const reader = manifest ? new ManifestReader() : null;
    // a group file's text is held only when nothing is staged (a dry run): else it is read back (Tree.groupText)
    const keepText = !manifest && this.stage === null && GROUP_RE.test(posix.basename(path));
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
        reader?.write(chunk);
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
      if (reader) {
        const m = reader.end();
        this.manifest = { layout: m.layout, sourceRoot: m.sourceRoot };
        // first in the archive (as mcm writes it): every later entry is checked as it comes
        if (first) this.expected = new Map(m.files.map((f) => [f.path, f]));
        else this.files = m.files;
        releaseMemory(); // reading a big manifest leaves its text's pieces and its kernel records behind
      } else if (this.expected) this.checkContent(path, rec.size, rec.sha256);
    };
  }
}

/**
 * Every file against the manifest, wherever in the archive it stood (entries
 * after a manifest that came first were checked as they came); gives the
 * listed files no entry matched, in the manifest's order.
 */
export function verify(s: Stager, archivePath: string): string[] {
  if (s.files) {
    s.expected = new Map(s.files.map((f) => [f.path, f]));
    s.files = null;
    for (const [p, rec] of s.records) {
      if (p === MANIFEST_NAME || rec.type === "dir") continue;
      s.checkListed(p, rec.type === "symlink" ? null : rec.size);
      if (rec.type === "symlink")
        throw new ArchiveRefused(`${archivePath}: ${p} is a link where the manifest lists a file`);
      s.checkContent(p, rec.size, rec.sha256);
    }
  }
  const missing = [...(s.expected?.keys() ?? [])];
  s.expected = null;
  return missing;
}
