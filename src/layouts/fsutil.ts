import { type Dirent, readdirSync } from "node:fs";
import type { ScanWarning } from "../core/types.js";
import { errorCode, isMcmName, warn } from "../scan/util.js";

/** readdir that turns a failure into a warning and an empty list, and skips mcm's own files. */
export function listDir(path: string, warnings: ScanWarning[]): Dirent[] {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((e) => !isMcmName(e.name));
  } catch (e) {
    warnings.push(warn(path, errorCode(e), `cannot read folder: ${(e as Error).message}`));
    return [];
  }
}
