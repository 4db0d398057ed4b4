import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { McmError } from "../core/errors.js";
import { refuseEmpty } from "../core/flags.js";

/** The absolute, symlink-free path of an existing cache folder, or a clear error. */
export function resolveCacheDir(dir: string): string {
  refuseEmpty("--cache-dir", dir); // resolve("") is the current folder
  let real: string;
  try {
    real = realpathSync(resolve(dir));
  } catch {
    throw new McmError(`cache dir not found: ${dir}`);
  }
  if (!statSync(real).isDirectory()) throw new McmError(`cache dir is not a folder: ${dir}`);
  return real;
}
