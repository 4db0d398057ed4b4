// Brings the index of one cache root up to date with the disk, re-reading only
// entries whose folder mtime changed.

import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { IndexSummary, Mode, ScanWarning } from "../core/types.js";
import type { IndexDb } from "../db/index.js";
import { UnitStore } from "../db/units.js";
import { hitDirs, ingestHits } from "../hits/ingest.js";
import { emptyWalk, layoutFor, NO_VLLM } from "../layouts/index.js";
import { log } from "../log.js";
import { plural } from "../report/format.js";
import { readArtifact } from "./artifact.js";
import { resolveCacheDir } from "./cache-dir.js";
import type { CheckedBatch } from "./check.js";
import { CheckPool } from "./check-pool.js";
import { modelOf, readCompileDir } from "./compile-dir.js";
import { bucketOf } from "./digest.js";
import { checkedCounts, type EntryBatch, type StoreCounts, settleBatch, storeBatch } from "./jobs.js";
import { dirNames, errorCode, isMcmName, warn } from "./util.js";
import { readUnit, type UnitMemo } from "./vllm-unit.js";
import { workerFactory } from "./worker-factory.js";

export interface IndexOptions {
  mode: Mode;
  /** worker threads for big scans; 0 reads everything on the main thread */
  threads?: number;
  /** fewest entries to read before worker threads are worth starting */
  minJobsForThreads?: number;
  progress?: boolean;
}

const BATCH = 256;

/**
 * Entries past which a re-index checks on this thread alone: a worker's
 * isolate costs 55 MB of peak RSS, and past the page cache the stat calls wait
 * on the disk (a 1M-kernel prune plan on the 2-core VM: 10.8 s alone, 10.1 s
 * shared, 292 against 348 MB).
 */
const MAX_SHARED_CHECK = 500_000;

export async function indexRoot(db: IndexDb, cacheDir: string, opts: IndexOptions): Promise<IndexSummary> {
  const started = performance.now();
  const lap = stopwatch();
  const root = resolveCacheDir(cacheDir);
  const layout = layoutFor(opts.mode, root);

  const walk = emptyWalk();
  const watch: Record<string, number> = {};
  // mtimes first, then listings: a change during the scan shows at the next refresh
  layout.walk(root, walk, NO_VLLM);
  for (const d of walk.watchDirs) watch[d] = statSync(d).mtimeMs;

  lap(`walked the layout (${layout.name})`);
  const knownBefore = db.countEntries(root);
  const oldDigests = (knownBefore > 0 && db.root(root)?.digests) || {};
  lap(`the index holds ${plural(knownBefore, "entry")}`);
  const threads = opts.threads ?? defaultThreads();
  // a re-index of a big root shares its stat calls; the workers load while the root is listed
  const shared = knownBefore >= (opts.minJobsForThreads ?? 2000) && knownBefore <= MAX_SHARED_CHECK;
  const checkers = new CheckPool(shared ? threads - 1 : 0);
  const batches: EntryBatch[] = [];
  const structural: ScanWarning[] = [...walk.warnings];
  for (const dir of walk.tritonDirs) {
    const td = { path: dir.path, ...dir.ctx };
    const good: string[] = [];
    try {
      for (const name of dirNames(dir.path)) {
        if (isMcmName(name)) continue;
        if (name.includes("\uFFFD"))
          structural.push(warn(`${dir.path}/${name}`, "bad-name", "name is not valid UTF-8; skipped"));
        else good.push(name);
      }
    } catch (e) {
      structural.push(warn(dir.path, errorCode(e), `cannot read folder: ${(e as Error).message}`));
      continue;
    }
    const stored = oldDigests[dir.path] ?? {};
    for (const { names, buckets } of bucketBatches(good)) {
      const digests = Object.fromEntries(buckets.map((k) => [k, stored[k] ?? -1]));
      batches.push({ root, layout: layout.name, dir: td, names, fresh: knownBefore === 0, digests });
    }
  }
  const entries = batches.reduce((n, b) => n + b.names.length, 0);
  lap(`listed ${plural(entries, "entry")}`);
  // every Triton dir gets an entry: refresh reads its hit logs even while it is empty
  const digests: Record<string, Record<string, number>> = Object.fromEntries(walk.tritonDirs.map((d) => [d.path, {}]));
  const counts = await readAll(batches, entries, db, { ...opts, threads }, checkers, (b, c) => {
    digests[b.dir.path] = Object.assign(digests[b.dir.path] ?? {}, c.digests);
  });
  lap(`checked ${plural(entries, "entry")}: ${counts.added + counts.updated} read`);
  // compile units are read before the write lock is taken: only those that changed
  const units = new UnitStore(db);
  const unitsBefore = units.states(root);
  const memo: UnitMemo = new Map();
  const embeddedBefore = db.countEmbedded(root);
  const unitsRead = walk.units
    .filter((u) => {
      const old = unitsBefore.get(u.path);
      if (!old) return true;
      const st = statSync(u.path, { throwIfNoEntry: false });
      // a folder's mtime does not follow its files: unpacked units are read again
      const same =
        st?.isFile() && old?.mtime === st.mtimeMs && old.bytes === st.size && old.inode === `${st.dev}:${st.ino}`;
      return !same;
    })
    .map((u) => readUnit(u, root, memo));
  const model = walk.compileDirs.length ? modelOf(root, structural) : null;
  const compileDirs = walk.compileDirs.map((d) => readCompileDir(d, root, model, structural));
  lap(`read ${unitsRead.length} of ${walk.units.length} compile units`);
  let removed = counts.removed;
  let embeddedAdded = 0;
  const w = db.writer();
  db.begin();
  try {
    const artifacts = new Set(walk.artifacts.map((a) => a.path));
    for (const a of walk.artifacts) {
      w.other(readArtifact(a.path, a.kind, root, a.path.slice(0, a.path.lastIndexOf("/"))));
    }
    // entries the index held that this run did not find: swept only when the counts say so
    const sweep = counts.knownSeen < knownBefore;
    const found = sweep ? foundNames(batches) : undefined;
    for (const [path, k] of db.knownEntries(root, sweep)) {
      if (k.mtime < 0 ? artifacts.has(path) : found === undefined || wasFound(found, path)) continue;
      if (k.kernel) removed++;
      w.remove(path);
    }
    for (const u of unitsRead) units.save(u, u.kernels);
    removed += units.settle(root, new Set(walk.units.map((u) => u.path)), unitsBefore.keys());
    units.saveCompileDirs(root, compileDirs);
    embeddedAdded = Math.max(0, db.countEmbedded(root) - embeddedBefore);
    db.saveRoot({ path: root, layout: layout.name, warnings: structural, watch, digests });
    db.commit();
    lap("committed");
  } catch (e) {
    db.rollback();
    throw e;
  }

  const hits = ingestHits(db, hitDirs(walk.tritonDirs.map((d) => d.path)));
  const kernels = db.countKernels(root);
  const warnings = db.warnings(root);
  lap("summed up");
  const summary: IndexSummary = {
    root,
    layout: layout.name,
    kernels,
    added: counts.added + embeddedAdded,
    updated: counts.updated,
    removed,
    unchanged: kernels - counts.added - counts.updated - embeddedAdded,
    warnings,
    hits,
    seconds: (performance.now() - started) / 1000,
  };
  log.info(`indexed ${root} (${layout.name}): ${summary.kernels} kernels in ${summary.seconds.toFixed(2)} s`);
  return summary;
}

/**
 * The names listed in each Triton dir, as sets of the batches' own strings: a
 * million kernels' paths made anew cost 160 MB, these sets a fifth of that.
 */
function foundNames(batches: EntryBatch[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const b of batches) {
    const names = out.get(b.dir.path) ?? new Set<string>();
    out.set(b.dir.path, names);
    for (const n of b.names) names.add(n);
  }
  return out;
}

/** An entry of a Triton dir (a name there never holds a slash) that this run listed. */
function wasFound(found: Map<string, Set<string>>, path: string): boolean {
  const slash = path.lastIndexOf("/");
  return found.get(path.slice(0, slash))?.has(path.slice(slash + 1)) === true;
}

/** Logs (at -vvv) the time since the last lap. */
function stopwatch(): (what: string) => void {
  let t = performance.now();
  return (what) => {
    const now = performance.now();
    log.debug(`${what} (${(now - t).toFixed(0)} ms)`);
    t = now;
  };
}

/** One worker per core, at most 4; MCM_THREADS overrides (0: none). */
function defaultThreads(): number {
  const env = Number.parseInt(process.env.MCM_THREADS ?? "", 10);
  return Number.isFinite(env) && env >= 0 ? env : Math.min(4, Math.max(1, availableParallelism()));
}

/** Names cut into batches of about BATCH entries that hold whole buckets, with those buckets. */
function bucketBatches(names: string[]): { names: string[]; buckets: string[] }[] {
  const byBucket = new Map<string, string[]>();
  for (const n of names) {
    const k = bucketOf(n);
    const list = byBucket.get(k);
    if (list) list.push(n);
    else byBucket.set(k, [n]);
  }
  const out: { names: string[]; buckets: string[] }[] = [];
  let cur = { names: [] as string[], buckets: [] as string[] };
  for (const [k, list] of byBucket) {
    cur.names.push(...list);
    cur.buckets.push(k);
    if (cur.names.length >= BATCH) {
      out.push(cur);
      cur = { names: [], buckets: [] };
    }
  }
  if (cur.names.length) out.push(cur);
  return out;
}

type Counts = Omit<StoreCounts, "digests">;

async function readAll(
  batches: EntryBatch[],
  entries: number,
  db: IndexDb,
  opts: IndexOptions & { threads: number },
  checkers: CheckPool,
  onBatch: (b: EntryBatch, c: StoreCounts) => void,
): Promise<Counts> {
  const total: Counts = { added: 0, updated: 0, removed: 0, knownSeen: 0 };
  const tally = (b: EntryBatch, c: StoreCounts) => {
    for (const k of Object.keys(total) as (keyof Counts)[]) total[k] += c[k];
    onBatch(b, c);
  };
  const bar = opts.progress && entries >= 5000 ? await progressBar(entries) : undefined;
  let done = 0;
  const progress = (b: EntryBatch) => {
    done += b.names.length;
    bar?.update(done);
  };
  // Phase one (stat and digest) and the lookups of what changed run here:
  // starting workers costs more than that for a cache that barely changed.
  // A first index has nothing to compare.
  const threads = opts.threads;
  let toStore: EntryBatch[] = batches;
  if (!batches[0]?.fresh) {
    toStore = [];
    const checked = await checkers.run(batches).finally(() => checkers.close());
    batches.forEach((b, i) => {
      const c = checked[i] as CheckedBatch;
      const counts = checkedCounts(b, c);
      const rest = c.done ? null : settleBatch(b, c, counts, db);
      tally(b, counts);
      if (rest) toStore.push(rest);
      else progress(b);
    });
  }
  const toRead = toStore.reduce((n, b) => n + b.names.length, 0);
  // workers open the database themselves: an in-memory one cannot be shared
  if (threads === 0 || db.path === ":memory:" || toRead < (opts.minJobsForThreads ?? 2000)) {
    for (const b of toStore) {
      tally(b, storeBatch(b, db));
      progress(b);
    }
    bar?.stop();
    return total;
  }
  let next = 0;
  const newWorker = workerFactory("worker", { dbPath: db.path });
  await Promise.all(
    Array.from({ length: threads }, () => {
      const worker = newWorker();
      return new Promise<void>((resolveDone, reject) => {
        let current: EntryBatch | undefined;
        const feed = () => {
          current = toStore[next++];
          worker.postMessage(current ?? null);
        };
        worker.on("message", (c: StoreCounts) => {
          if (current) {
            tally(current, c);
            progress(current);
          }
          feed();
        });
        worker.on("error", reject);
        worker.on("exit", () => resolveDone());
        feed();
      });
    }),
  );
  bar?.stop();
  return total;
}

async function progressBar(total: number) {
  const { SingleBar, Presets } = (await import("cli-progress")).default;
  const bar = new SingleBar(
    { format: "indexing [{bar}] {value}/{total} entries", stream: process.stderr, clearOnComplete: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return bar;
}
