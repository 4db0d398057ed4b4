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
