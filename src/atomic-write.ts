// Replaces a file whole: a reader sees the old content or the new one, never a part.
import { closeSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes `data` to a temp file beside `path` (an .mcm name, which scans skip), then renames it over `path`. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const tmp = join(dirname(path), `.mcm-tmp-${process.pid}-${basename(path)}`);
  try {
    const fd = openSync(tmp, "w", mode);
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
