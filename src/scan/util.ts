import { opendirSync } from "node:fs";
import { shortenLongRuns } from "../core/short-path.js";
import type { ScanWarning, WarningCode } from "../core/types.js";

/** `path` kept whole (for --json); the paths inside `message` shortened (ENAMETOOLONG quotes a huge one). */
export function warn(path: string, code: WarningCode, message: string): ScanWarning {
  return { path, code, message: shortenLongRuns(message) };
}

export function errorCode(e: unknown): WarningCode {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "EACCES" || code === "EPERM" ? "permission" : "unreadable";
}

/** True when `p` (absolute) is `root` or below it. */
export function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith("/") ? root : `${root}/`);
}

/** mcm's own files inside a cache (trash, lock, hit logs, link temporaries): never entries. */
export function isMcmName(name: string): boolean {
  return name.startsWith(".mcm");
}

/**
 * The names in `dir`, read a few at a time through opendir: readdir holds a
 * native copy of a big folder's whole listing beside its strings (60 MB more
 * peak RSS at a million entries) and is half as fast. Throws as readdir does.
 */
export function* dirNames(dir: string): Generator<string> {
  const d = opendirSync(dir, { bufferSize: 256 });
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) yield e.name;
  } finally {
    d.closeSync();
  }
}
