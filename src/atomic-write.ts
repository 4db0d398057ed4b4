// Replaces a file whole: a reader sees the old content or the new one, never a part.
import { randomBytes } from "node:crypto";
import { closeSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to a temp file beside `path` (an .mcm name, which scans skip), then renames it over `path`.
 * The temp name is unguessable and created exclusively ("wx"), so a link planted there is never followed.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const tmp = join(dirname(path), `.mcm-tmp-${process.pid}-${randomBytes(6).toString("hex")}-${basename(path)}`);
  let created = false;
  try {
    const fd = openSync(tmp, "wx", mode);
    created = true;
    try {
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    if (created) rmSync(tmp, { force: true });
    throw e;
  }
}
