// What of a cache folder is never archived, for export and push both (file-tree.ts walks it).
import { isMcmName } from "../scan/util.js";

/** Why a name in a cache is never archived, or null. */
export function skipReason(name: string): string | null {
  if (isMcmName(name)) return "mcm's own file";
  if (name.startsWith("tmp.pid_") || name.includes(".tmp.pid_")) return "a Triton write in flight or interrupted";
  if (name.endsWith(".lock")) return "a lock file";
  return null;
}

export function relOf(root: string, abs: string): string {
  return abs.slice(root.length + 1);
}
