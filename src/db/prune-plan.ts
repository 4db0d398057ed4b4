// A prune plan kept in SQLite, not in memory: the entries it makes, fixed in
// a private temporary database before the question is asked (its own
// connection, so that kernels stream from the index while entries go in).
// Pages of a few thousand rows are all a prune of a million kernels holds.
import Database from "better-sqlite3";
import { isUnitAction, type PlanEntry, type PruneMode, type SkippedEntry } from "../prune/plan.js";
import { jsonElement } from "../report/stream.js";
import { BUSY_TIMEOUT_MS } from "./open.js";
import type { PlanSelect } from "./plan-sql.js";

const PAGE = 2000;

export interface PlanTotals {
  mode: PruneMode;
  kernels: number;
  /** compile folders removed or linked (vLLM) */
  units: number;
  files: number;
  bytes: number;
  entries: number;
  skipped: number;
  /** some entry links files rather than removing them */
  links: boolean;
}

/** An entry as the table holds it: its place in the plan, and what step 1 saw of its folder. */
export interface HeldEntry {
  seq: number;
  entry: PlanEntry;
  state: string | null;
}

export class PlanTable {
  private readonly db: Database.Database;
  private pending: unknown[][] = [];
  private readonly insert: Database.Statement;

  constructor(readonly mode: PruneMode) {
    // "": a temporary file of SQLite's own, deleted when closed; nothing here outlives the run
    this.db = new Database("");
    this.db.pragma("journal_mode = OFF");
    this.db.pragma("synchronous = OFF");
    // the index it may attach is another mcm's to write meanwhile
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.exec(`CREATE TABLE plan (seq INTEGER PRIMARY KEY, skipped INTEGER NOT NULL, unit INTEGER NOT NULL,
        files INTEGER NOT NULL, bytes INTEGER NOT NULL, links INTEGER NOT NULL, root TEXT NOT NULL,
        path TEXT NOT NULL, json TEXT NOT NULL, state TEXT);
      CREATE TABLE buckets (path TEXT NOT NULL, bucket TEXT NOT NULL);`);
    this.insert = this.db.prepare(
      "INSERT INTO plan (skipped, unit, files, bytes, links, root, path, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
  }

  close(): void {
    this.db.close();
  }

  /**
   * Adds the rows `select` makes (db/plan-sql.ts) reading the index at
   * `indexPath` as `idx`, `live` (kernels a Triton process is writing, and why
   * they are kept) as the table `live`. One statement: SQLite writes the plan.
   */
  addFromIndex(indexPath: string, select: PlanSelect, live: [path: string, reason: string][]): void {
    if (indexPath === ":memory:") throw new Error("a plan made in SQL reads the index from its file");
    this.flush();
    this.db.exec("CREATE TABLE IF NOT EXISTS live (path TEXT PRIMARY KEY, reason TEXT NOT NULL); DELETE FROM live");
    const put = this.db.prepare("INSERT OR REPLACE INTO live (path, reason) VALUES (?, ?)");
    for (const [p, why] of live) put.run(p, why);
    this.db.prepare("ATTACH ? AS idx").run(indexPath);
    try {
      this.db
        .prepare(`INSERT INTO plan (skipped, unit, files, bytes, links, root, path, json) ${select.sql}`)
        .run(...select.args, select.named);
    } finally {
      this.db.exec("DETACH idx");
    }
  }

  /** Deduplication's first cut, kept here: each candidate's bucket. */
  addBuckets(rows: [path: string, bucket: string][]): void {
    const put = this.db.prepare("INSERT INTO buckets (path, bucket) VALUES (?, ?)");
    this.db.transaction(() => {
      for (const [p, b] of rows) put.run(p, b);
    })();
  }

  /** The paths of buckets of two or more, bucket by bucket, a page at a time (a bucket may span pages). */
  *sharedBuckets(): Generator<{ path: string; bucket: string }[]> {
    this.db.exec(`CREATE TABLE shared AS SELECT bucket, path FROM buckets WHERE bucket IN
      (SELECT bucket FROM buckets GROUP BY bucket HAVING count(*) > 1) ORDER BY bucket, path`);
    const stmt = this.db.prepare(`SELECT rowid, path, bucket FROM shared WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`);
    for (let last = 0; ; ) {
      const rows = stmt.all(last) as { rowid: number; path: string; bucket: string }[];
      if (rows.length === 0) return;
      last = (rows[rows.length - 1] as { rowid: number }).rowid;
      yield rows;
    }
  }

  /** Adds one entry or kept kernel (written in batches; `flush` before reading). */
  add(item: PlanEntry | SkippedEntry): void {
    if ("action" in item) {
      const files = item.links ? item.links.length : item.files.length;
      this.pending.push([0, isUnitAction(item.action) ? 1 : 0, files, item.bytes, item.links ? 1 : 0]);
    } else this.pending.push([1, 0, 0, 0, 0]);
    (this.pending[this.pending.length - 1] as unknown[]).push(item.root, item.path, jsonElement(item, 2));
    if (this.pending.length >= PAGE) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const r of rows) this.insert.run(...r);
    })();
  }

  totals(): PlanTotals {
    this.flush();
    const t = this.db
      .prepare(`SELECT coalesce(sum(skipped = 0 AND unit = 0), 0) AS kernels, coalesce(sum(unit), 0) AS units,
          coalesce(sum(files), 0) AS files, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(skipped = 0), 0) AS entries,
          coalesce(sum(skipped), 0) AS skipped, coalesce(max(links), 0) AS links FROM plan`)
      .get() as Omit<PlanTotals, "mode" | "links"> & { links: number };
    return { ...t, mode: this.mode, links: t.links === 1 };
  }

  /** The entries (or the kept kernels) as `jsonElement(_, 2)` texts, in plan order. */
  *texts(skipped: boolean, limit = Number.POSITIVE_INFINITY): Generator<string> {
    this.flush();
    let n = 0;
    for (const page of this.pages(skipped, false)) {
      for (const r of page) {
        if (n++ >= limit) return;
        yield r[1] as string;
      }
    }
  }

  /** The entries, a page at a time; with `held`, only those step 1 kept a folder state for. */
  *entryPages(held = false): Generator<HeldEntry[]> {
    this.flush();
    for (const page of this.pages(false, held))
      yield page.map(([seq, json, state]) => ({
        seq: seq as number,
        entry: JSON.parse(json as string) as PlanEntry,
        state: state as string | null,
      }));
  }

  private *pages(skipped: boolean, held: boolean): Generator<unknown[][]> {
    const stmt = this.db
      .prepare(`SELECT seq, json, state FROM plan WHERE skipped = ? AND seq > ?
        ${held ? "AND state IS NOT NULL" : ""} ORDER BY seq LIMIT ${PAGE}`)
      .raw();
    for (let last = 0; ; ) {
      const rows = stmt.all(skipped ? 1 : 0, last) as unknown[][];
      if (rows.length === 0) return;
      last = (rows[rows.length - 1] as unknown[])[0] as number;
      yield rows;
    }
  }

  /** Where the entries are, one row at a time (for the locks a change must take). */
  *places(): Generator<{ root: string; path: string }> {
    this.flush();
    yield* this.db.prepare("SELECT root, path FROM plan WHERE skipped = 0 ORDER BY seq").iterate() as Iterable<{
      root: string;
      path: string;
    }>;
  }

  /** What step 1 saw of each entry's folder, kept out of memory until step 3. */
  hold(states: [seq: number, state: string][]): void {
    const set = this.db.prepare("UPDATE plan SET state = ? WHERE seq = ?");
    this.db.transaction(() => {
      for (const [seq, s] of states) set.run(s, seq);
    })();
  }
}
