// One destructive mcm process per cache root at a time.
import { closeSync, lstatSync, openSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { McmError } from "../core/errors.js";
import { CAPS, NotPlainFile, readPlainText, TooLarge } from "../safe-fs.js";
import { isInside } from "../scan/util.js";

export const LOCK = ".mcm-lock";

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid in a lock file; a lock that is a link, FIFO, device, folder or too long is refused in one line. */
function holderOf(path: string): number {
  try {
    return Number.parseInt(readPlainText(path, CAPS.lockBytes), 10);
  } catch (e) {
    if (e instanceof NotPlainFile || e instanceof TooLarge) {
      throw new McmError(`${path} is not a lock mcm wrote (${e.message}); remove it if no mcm process runs there`);
    }
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return Number.NaN;
    throw e;
  }
}

function tryLock(path: string): number | null {
  try {
    // O_CREAT|O_EXCL: never through a link planted there
    const fd = openSync(path, "wx");
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const holder = holderOf(path);
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
    if (holder === null) {
      return () => {
        // only our own lock: a later holder's stays
        if (lstatSync(path, { throwIfNoEntry: false })?.isFile() && holderOf(path) === process.pid) rmSync(path);
      };
    }
    if (Date.now() >= deadline) {
      throw new McmError(`another mcm process (pid ${holder}) is changing ${root}; try again when it has finished`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The folders strictly inside `roots` and above the kernel folders `paths` that
 * hold a lock: caches of their own (indexed by another database, or a parent
 * named with --cache-dir), whose locks a change to these kernels must take too.
 */
export function nestedLockDirs(entries: Iterable<{ root: string; path: string }>): string[] {
  const seen = new Set<string>();
  const locked: string[] = [];
  for (const e of entries) {
    for (let d = dirname(e.path); d !== e.root && isInside(e.root, d) && !seen.has(d); d = dirname(d)) {
      seen.add(d);
      if (lstatSync(`${d}/${LOCK}`, { throwIfNoEntry: false })) locked.push(d);
    }
  }
  return locked;
}
