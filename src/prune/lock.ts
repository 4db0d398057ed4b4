// One destructive mcm process per cache root at a time.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { McmError } from "../core/errors.js";

export const LOCK = ".mcm-lock";

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tryLock(path: string): number | null {
  try {
    const fd = openSync(path, "wx");
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (!Number.isFinite(holder) || !pidAlive(holder)) {
      rmSync(path, { force: true }); // left by a process that died
      return tryLock(path);
    }
    return holder;
  }
}

/** Takes the lock of `root`, waiting up to `timeoutMs`; returns the release function. */
export async function lockRoot(
  root: string,
  timeoutMs = Number(process.env.MCM_LOCK_TIMEOUT_MS ?? 3000),
): Promise<() => void> {
  const path = `${root}/${LOCK}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const holder = tryLock(path);
    if (holder === null) return () => rmSync(path, { force: true });
    if (Date.now() >= deadline) {
      throw new McmError(`another mcm process (pid ${holder}) is changing ${root}; try again when it has finished`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
