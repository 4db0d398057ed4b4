// Files that a peer in a shared cache folder may have planted: opened without
// following a link, refused unless they are regular files, read up to a cap.
// Folders mcm renames into or out of are checked to be real folders (no link
// anywhere below the root) just before and just after the change.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname } from "node:path";
import { McmError } from "./core/errors.js";

const MiB = 1024 * 1024;

/** The caps on what mcm reads from a cache; SECURITY.md lists them. */
export const CAPS = {
  /** `.mcm-lock`: a pid */
  lockBytes: 64,
  /** a Triton `__grp__*.json` */
  groupBytes: 1 * MiB,
  /** a kernel's metadata JSON, and any other JSON file of a cache mcm parses */
  jsonBytes: 16 * MiB,
  /** one hit-log line; longer ones are skipped as garbled */
  hitLineBytes: 64 * 1024,
  /** what one ingest reads of one hit log; the rest waits for the next */
  hitLogReadBytes: 8 * MiB,
} as const;

/** Opens for reading without following a link or blocking on a FIFO; anything but a regular file is refused. */
const O_READ_PLAIN = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class NotPlainFile extends McmError {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind}, not a regular file; left alone`);
  }
}

export class TooLarge extends McmError {
  constructor(path: string, cap: number) {
    super(`${path} is larger than its cap (${formatCap(cap)}); not read`);
  }
}

export function formatCap(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

function kindOf(mode: number): string {
  const t = mode & constants.S_IFMT;
  if (t === constants.S_IFDIR) return "a folder";
  if (t === constants.S_IFIFO) return "a FIFO";
  if (t === constants.S_IFCHR || t === constants.S_IFBLK) return "a device";
  if (t === constants.S_IFSOCK) return "a socket";
  if (t === constants.S_IFLNK) return "a symbolic link";
  return "not a regular file";
}

/** An fd of the regular file at `path`, never through a final link; the caller closes it. */
export function openPlain(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, O_READ_PLAIN);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") throw new NotPlainFile(path, "a symbolic link");
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new NotPlainFile(path, kindOf(st.mode));
  }
  return fd;
}

/** Reads `fd` from `offset`, at most `max` bytes (a file that grows while read stops there). */
export function readUpTo(fd: number, max: number, offset = 0): Buffer {
  const buf = Buffer.allocUnsafe(Math.min(max, Math.max(0, fstatSync(fd).size - offset) + 1));
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, offset + n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** The whole regular file at `path`, refused past `cap` bytes. */
export function readPlain(path: string, cap: number): Buffer {
  const fd = openPlain(path);
  try {
    const data = readUpTo(fd, cap + 1);
    if (data.length > cap) throw new TooLarge(path, cap);
    return data;
  } finally {
    closeSync(fd);
  }
}

export function readPlainText(path: string, cap: number): string {
  return readPlain(path, cap).toString("utf8");
}

/**
 * Each folder from `root` down to `dir` as it is now (device and inode), or
 * null when one of them is a link or not a folder. Compare two answers to see
 * that nothing was swapped in between.
 */
export function folderChain(root: string, dir: string): string | null {
  if (dir !== root && !dir.startsWith(`${root}/`)) return null;
  const ids: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const st = lstatSync(d, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return null;
    ids.push(`${st.dev}:${st.ino}`);
    if (d === root || d === "/" || d.length <= root.length) break;
  }
  return ids.join("/");
}

/**
 * Runs `change` (a rename or an unlink under `dir`) only when every folder from
 * `root` to `dir` is a real folder, and checks again after it. Returns false,
 * having done nothing, when the chain is not real; throws when it changed
 * during the operation (the caller undoes what it can).
 */
export function inRealFolder<T>(
  root: string,
  dir: string,
  change: () => T,
): { done: true; value: T } | { done: false } {
  const before = folderChain(root, dir);
  if (before === null) return { done: false };
  const value = change();
  if (folderChain(root, dir) !== before) throw new FolderSwapped(dir);
  return { done: true, value };
}

export class FolderSwapped extends McmError {
  constructor(dir: string) {
    super(`${dir} was replaced while mcm was writing in it (a link swapped in?); stopped`);
  }
}

/**
 * Makes `dir` and the folders above it up to `root`, never through a link:
 * false, having made nothing more, where one of them is a link or a file.
 */
export function mkdirInRoot(root: string, dir: string): boolean {
  if (dir !== root && !dir.startsWith(`${root}/`)) return false;
  let at = root;
  for (const part of dir === root ? [] : dir.slice(root.length + 1).split("/")) {
    at = `${at}/${part}`;
    if (!lstatSync(at, { throwIfNoEntry: false })) {
      try {
        mkdirSync(at);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
    }
    if (!lstatSync(at, { throwIfNoEntry: false })?.isDirectory()) return false;
  }
  return folderChain(root, dir) !== null;
}
