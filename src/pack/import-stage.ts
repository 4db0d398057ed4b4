// The one pass over an import's archive: each entry's name, type, size and
// sha256 checked as it comes (against the manifest, when it is the first
// entry), what is accepted written into the staging folder, what is not
// refused and its kernel tainted.
import { createHash, type Hash } from "node:crypto";
import { closeSync, linkSync, mkdirSync, openSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { McmError } from "../core/errors.js";
import { collectEvery, releaseMemory } from "../release-memory.js";
import { size } from "../report/format.js";
import { CAPS, formatCap } from "../safe-fs.js";
import { GROUP_RE } from "../scan/group.js";
import { ArchiveTable, DIR, FILE, HARDLINK, NONE, SYMLINK, TOP } from "./archive-table.js";
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

export class Stager {
  /** every entry, and every file the manifest lists */
  readonly table = new ArchiveTable();
  readonly refused: Refusal[] = [];
  /** parents of refused entries: their kernel folders are left out */
  readonly tainted = new Set<string>();
  /** what the import uses of the archive's manifest (its kernel and file lists are not kept) */
  manifest: Pick<Manifest, "layout" | "sourceRoot"> | null = null;
  /** the manifest came first: each later entry is checked against it as it comes */
  private checking = false;
  /** listed paths no entry can have (not clean relative paths): missing */
  private readonly unmatchable: string[] = [];
  private first = true;
  /** entries between two full collections */
  private readonly collect = collectEvery(50_000);
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

  entry(h: TarHeader): ((c: Buffer | null) => void) | undefined {
    this.collect();
    const wasFirst = this.first;
    this.first = false;
    const clean = cleanName(h.name);
    if ("reason" in clean) return this.refuse(h.name, clean.reason);
    const path = clean.path;
    if (path === "") return undefined; // "./"
    if (h.type === "device" || h.type === "fifo") return this.refuse(h.name, `a ${h.type} (flag '${h.flag}')`, path);
    if (h.type === "other") return this.refuse(h.name, `unsupported entry type '${h.flag}'`, path);
    const t = this.table;
    const held = t.find(path);
    if (held !== undefined && t.isSeen(held)) {
      if (t.kind(held) === DIR && h.type === "dir") return undefined;
      return this.refuse(h.name, "appears twice in the archive", path);
    }
    if (t.throughNonDir(path)) return this.refuse(h.name, "its folder is a link or a file in the archive", path);
    const isManifest = path === MANIFEST_NAME && h.type === "file";
    if (!isManifest && this.checking && h.type !== "dir") {
      this.checkListed(path, held, h.type === "file" ? h.size : null);
      if (h.type === "symlink")
        throw new ArchiveRefused(`${this.archive}: ${path} is a link where the manifest lists a file`);
    }
    const exec = (h.mode & 0o100) !== 0;
    if (h.type === "dir") {
      t.entry(held ?? t.ensure(path), DIR, 0, exec);
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
      const node = held ?? t.ensure(path);
      t.entry(node, SYMLINK, h.size, exec);
      t.links.set(node, h.linkname);
      return undefined;
    }
    if (h.type === "hardlink") {
      const c = cleanName(h.linkname);
      const target = "path" in c ? t.find(c.path) : undefined;
      const kind = target === undefined ? NONE : t.kind(target);
      if (!("path" in c) || target === undefined || !t.isSeen(target) || (kind !== FILE && kind !== HARDLINK)) {
        return this.refuse(h.name, `hard link to ${h.linkname}, which is not a file earlier in the archive`, path);
      }
      const node = held ?? t.ensure(path);
      if (t.isListed(node)) this.checkContent(path, node, t.size(target), t.sha(target));
      // a staged target means there is a stage
      if (t.isStaged(target)) {
        mkdirSync(posix.dirname(`${this.stage}/${path}`), { recursive: true });
        linkSync(`${this.stage}/${c.path}`, `${this.stage}/${path}`);
      }
      // the link's own node: its target's content (the name it links to is not needed past here)
      t.entry(node, HARDLINK, t.size(target), t.isExec(target));
      t.copySha(target, node);
      if (t.isStaged(target)) t.setStaged(node);
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
    const node = held ?? t.ensure(path);
    t.entry(node, FILE, h.size, exec);
    return this.file(path, node, isManifest, wasFirst);
  }

  private checkListed(path: string, node: number | undefined, size: number | null): void {
    const t = this.table;
    if (node === undefined || !t.isListed(node))
      throw new ArchiveRefused(`${this.archive}: ${path} is not listed in the archive's manifest`);
    if (size !== null && t.size(node) !== size) {
      throw new ArchiveRefused(`${this.archive}: ${path} holds ${size} bytes, the manifest says ${t.size(node)}`);
    }
  }

  /** Checks content (`size`, its 32-byte sha256) against the listing at `node`, which is then matched. */
  private checkContent(path: string, node: number, size: number, sha256: Uint8Array): void {
    const t = this.table;
    if (t.size(node) !== size || !t.shaEquals(node, sha256)) {
      throw new ArchiveRefused(`${this.archive}: checksum mismatch for ${path} (the archive was altered or damaged)`);
    }
    t.setMatched(node);
  }

  /** One file the manifest lists: an entry already read there is checked now, a later one as it comes. */
  private listed(f: ManifestFile): void {
    const t = this.table;
    const c = cleanName(f.path);
    if ("reason" in c || c.path !== f.path || f.path === "") {
      this.unmatchable.push(f.path);
      return;
    }
    const node = t.ensure(f.path);
    const kind = t.kind(node);
    if (t.isSeen(node) && kind === SYMLINK)
      throw new ArchiveRefused(`${this.archive}: ${f.path} is a link where the manifest lists a file`);
    if (t.isSeen(node) && (kind === FILE || kind === HARDLINK)) {
      if (t.size(node) !== f.size)
        throw new ArchiveRefused(`${this.archive}: ${f.path} holds ${t.size(node)} bytes, the manifest says ${f.size}`);
      this.checkContent(f.path, node, f.size, Buffer.from(f.sha256, "hex"));
    }
    t.list(node, f.size, f.sha256);
  }

  private file(path: string, node: number, manifest: boolean, first: boolean): (c: Buffer | null) => void {
    const t = this.table;
    const size = t.size(node);
    const hash: Hash = createHash("sha256");
    // the manifest is read as it comes, never held as text; its files go into the table as they are read
    const reader = manifest
      ? new ManifestReader(undefined, { onFile: (f) => this.listed(f), dropKernels: true })
      : null;
    // the entries after a manifest that comes first are checked as they come
    if (manifest && first) this.checking = true;
    // a group file's text is held only when nothing is staged (a dry run): else it is read back (Tree.groupText)
    const keepText = !manifest && this.stage === null && GROUP_RE.test(posix.basename(path));
    // Inductor entries are compared with the destination's once both are relocated (they are rewritten there)
    const entry = !keepText && ENTRY_PATH_RE.test(path) && size <= MAX_ENTRY_BYTES;
    const parts: Buffer[] = [];
    let fd: number | null = null;
    if (this.stage && !manifest) {
      const abs = `${this.stage}/${path}`;
      mkdirSync(posix.dirname(abs), { recursive: true });
      fd = openSync(abs, "wx", t.isExec(node) ? 0o755 : 0o644);
    }
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
      if (fd !== null) {
        closeSync(fd);
        t.setStaged(node);
      }
      const digest = hash.digest();
      if (keepText) t.texts.set(node, Buffer.concat(parts).toString("utf8"));
      if (entry) t.rootFree.set(node, rootFreeDigest(Buffer.concat(parts)));
      if (reader) {
        const m = reader.end();
        this.manifest = { layout: m.layout, sourceRoot: m.sourceRoot };
        releaseMemory(); // reading a big manifest leaves its pieces behind
      } else if (t.isListed(node)) this.checkContent(path, node, size, digest);
      else t.setSha(node, digest);
    };
  }

  /**
   * Every entry against the manifest, wherever in the archive it stood (each
   * was checked when the later of it and its listing came); gives the listed
   * files no entry matched, in the manifest's order.
   */
  verify(): string[] {
    const t = this.table;
    for (let i = 0; i < t.count; i++) {
      const kind = t.kind(i);
      if (!t.isSeen(i) || kind === DIR) continue;
      if (kind === FILE && t.parent(i) === TOP && t.name(i) === MANIFEST_NAME) continue;
      if (!t.isListed(i))
        throw new ArchiveRefused(`${this.archive}: ${t.path(i)} is not listed in the archive's manifest`);
    }
    const missing = [...this.unmatchable];
    for (let i = 0; i < t.count; i++) if (t.isListed(i) && !t.isMatched(i)) missing.push(t.path(i));
    return missing;
  }
}
