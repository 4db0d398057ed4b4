// Reads the hit logs that python/mcm_tracker.py appends to, and adds their
// events to the index. Each log is read from where the last read stopped, under
// the database's write lock, and the new offset is stored in the same
// transaction as the counts: every event counts once, even while writers keep
// appending and other mcm processes ingest too.
import { closeSync, fstatSync, lstatSync, readdirSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { IndexDb, LookupCount } from "../db/index.js";
import { pidAlive } from "../prune/lock.js";
import { CAPS, folderChain, inRealFolder, openPlain, readUpTo } from "../safe-fs.js";

export interface HitSummary {
  events: number;
  /** torn or garbled lines, skipped */
  skipped: number;
  logs: number;
  /** logs of finished processes, read to the end and removed */
  removed: number;
}

/** A folder of hit logs, and the folder below which no link may stand (mcm removes logs there). */
export interface HitDir {
  dir: string;
  base: string;
}

/**
 * Where the tracker writes for a Triton dir, and MCM_HITS_DIR when set. A
 * `.mcm` or `hits` that is a link (planted by a peer of a shared cache) is no
 * hit folder: mcm would read, and remove, logs elsewhere.
 */
export function hitDirs(tritonDirs: string[]): HitDir[] {
  const dirs = tritonDirs.map((d) => ({ dir: `${d}/.mcm/hits`, base: d }));
  if (process.env.MCM_HITS_DIR) dirs.push({ dir: process.env.MCM_HITS_DIR, base: process.env.MCM_HITS_DIR });
  return dirs;
}

interface Event {
  key: string;
  name: string | null;
  hit: boolean;
  dir: string;
  t: number;
}

function parse(line: string): Event | null {
  try {
    const e = JSON.parse(line) as Record<string, unknown>;
    if (
      typeof e.key !== "string" ||
      typeof e.hit !== "boolean" ||
      typeof e.dir !== "string" ||
      typeof e.t !== "number"
    ) {
      return null;
    }
    return { key: e.key, name: typeof e.name === "string" ? e.name : null, hit: e.hit, dir: e.dir, t: e.t * 1000 };
  } catch {
    return null;
  }
}

/** `<host>-<pid>-<ms>.jsonl`: is its writer a process of this machine that has ended? */
function writerGone(file: string): boolean {
  const m = /^(.*)-(\d+)-(\d+)\.jsonl$/.exec(file);
  return m !== null && m[1] === hostname().replace(/\//g, "_") && !pidAlive(Number(m[2]));
}

/** What follows `offset`, up to the read cap; a log that is a link, FIFO or device is refused (openPlain). */
function readFrom(path: string, offset: number): { text: string; size: number; ino: number; capped: boolean } {
  const fd = openPlain(path);
  try {
    const st = fstatSync(fd);
    if (st.size <= offset) return { text: "", size: st.size, ino: st.ino, capped: false };
    const buf = readUpTo(fd, CAPS.hitLogReadBytes, offset);
    const capped = buf.length === CAPS.hitLogReadBytes;
    return { text: buf.toString("utf8"), size: offset + buf.length, ino: st.ino, capped };
  } finally {
    closeSync(fd);
  }
}

function ingestLog(db: IndexDb, hd: HitDir, path: string, gone: boolean, sum: HitSummary): void {
  db.exclusive(() => {
    const offset = db.hitLogOffset(path);
    const { text, size, ino, capped } = readFrom(path, offset);
    // a line is complete with its newline; a partial tail waits for its writer, unless the writer is gone
    const end = gone && !capped ? text.length : text.lastIndexOf("\n") + 1;
    const counts = new Map<string, LookupCount>();
    for (const line of text.slice(0, end).split("\n")) {
      if (line === "") continue;
      const e = line.length > CAPS.hitLineBytes ? null : parse(line);
      if (!e) {
        sum.skipped++;
        continue;
      }
      sum.events++;
      const id = `${e.dir}\0${e.key}`;
      const c = counts.get(id) ?? {
        container: e.dir,
        key: e.key,
        name: e.name,
        hits: 0,
        misses: 0,
        first: e.t,
        last: e.t,
      };
      if (e.hit) c.hits++;
      else c.misses++;
      c.first = Math.min(c.first, e.t);
      c.last = Math.max(c.last, e.t);
      counts.set(id, c);
    }
    db.addLookups([...counts.values()]);
    // a cap's worth without one newline is one garbled line: skipped whole
    const runaway = capped && end === 0;
    if (runaway) sum.skipped++;
    const consumed = runaway ? size : offset + Buffer.byteLength(text.slice(0, end));
    if (gone && consumed >= size && !capped) {
      // only the log just read, in the real hit folder: never a file a swapped-in link points at
      const removed = inRealFolder(hd.base, hd.dir, () => {
        if (lstatSync(path, { throwIfNoEntry: false })?.ino === ino) unlinkSync(path);
      });
      db.setHitLogOffset(path, removed.done ? null : consumed);
      if (removed.done) sum.removed++;
    } else {
      db.setHitLogOffset(path, consumed);
    }
  });
}

/** Ingests every hit log under these folders. A missing folder is no log. */
export function ingestHits(db: IndexDb, dirs: HitDir[]): HitSummary {
  const sum: HitSummary = { events: 0, skipped: 0, logs: 0, removed: 0 };
  for (const hd of dirs) {
    const { dir } = hd;
    let files: string[];
    try {
      if (folderChain(hd.base, dir) === null) continue;
      files = readdirSync(dir).filter((f) => f.endsWith(".jsonl"));
    } catch {
      continue;
    }
    for (const f of files) {
      sum.logs++;
      try {
        ingestLog(db, hd, `${dir}/${f}`, writerGone(f), sum);
      } catch {
        // a log that vanished or cannot be read is read next time, or never
      }
    }
  }
  return sum;
}
