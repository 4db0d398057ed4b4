// Brings the index of one cache root up to date with the disk, re-reading only
// entries whose folder mtime changed.

import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { McmError } from "../core/errors.js";
import type { EntryRecord, IndexSummary, Mode, ScanWarning } from "../core/types.js";
import type { IndexDb } from "../db/index.js";
import { emptyWalk, layoutFor, NO_VLLM } from "../layouts/index.js";
import { log } from "../log.js";
import { readArtifact } from "./artifact.js";
import { type EntryJob, readJobs } from "./jobs.js";
import { isInside, isMcmName, warn } from "./util.js";

export interface IndexOptions {
  mode: Mode;
  /** worker threads for big scans; 0 reads everything on the main thread */
  threads?: number;
  /** fewest entries to read before worker threads are worth starting */
  minJobsForThreads?: number;
  progress?: boolean;
}

const BATCH = 256;

/** The absolute, symlink-free path of an existing cache folder, or a clear error. */
export function resolveCacheDir(dir: string): string {
  let real: string;
  try {
    real = realpathSync(resolve(dir));
  } catch {
    throw new McmError(`cache dir not found: ${dir}`);
  }
  if (!statSync(real).isDirectory()) throw new McmError(`cache dir is not a folder: ${dir}`);
  return real;
}

export async function indexRoot(db: IndexDb, cacheDir: string, opts: IndexOptions): Promise<IndexSummary> {
  const started = performance.now();
  const root = resolveCacheDir(cacheDir);
  const rootNames = new Set(readdirSync(root));
  const layout = layoutFor(opts.mode, rootNames, root);

  const walk = emptyWalk();
  const watch: Record<string, number> = {};
  // mtimes first, then listings: a change during the scan shows at the next refresh
  layout.walk(root, walk, NO_VLLM);
  for (const d of walk.watchDirs) watch[d] = statSync(d).mtimeMs;

  const known = db.knownEntries(root);
  const seen = new Set<string>();
  const jobs: EntryJob[] = [];
  const structural: ScanWarning[] = [...walk.warnings];
  let unchanged = 0;

  for (const dir of walk.tritonDirs) {
    const td = { path: dir.path, ...dir.ctx };
    let names: string[];
    try {
      names = readdirSync(dir.path);
    } catch (e) {
      structural.push(warn(dir.path, "permission", `cannot read folder: ${(e as Error).message}`));
      continue;
    }
    for (const name of names) {
      if (isMcmName(name)) continue;
      const path = `${dir.path}/${name}`;
      if (name.includes("\uFFFD")) {
        structural.push(warn(path, "bad-name", "name is not valid UTF-8; skipped"));
        continue;
      }
      const st = statOrWarn(path, root, structural);
      if (!st) continue;
      seen.add(path);
      const k = known.get(path);
      if (k && k.mtime === st.mtimeMs) {
        if (k.kernel) unchanged++;
        continue;
      }
      jobs.push({ path, mtime: st.mtimeMs, root, layout: layout.name, dir: td });
    }
  }

  let added = 0;
  let updated = 0;
  let removed = 0;
  const w = db.writer();
  const put = (r: EntryRecord) => {
    const k = known.get(r.path);
    if (r.kind === "kernel") {
      if (k?.kernel) updated++;
      else added++;
      if (k && !k.kernel) w.remove(r.path);
      w.kernel(r);
    } else {
      if (k?.kernel) {
        removed++;
        w.remove(r.path);
      }
      w.other(r);
    }
  };

  db.begin();
  try {
    await readAll(jobs, opts, put);
    for (const a of walk.artifacts) {
      seen.add(a.path);
      w.other(readArtifact(a.path, a.kind, root, a.path.slice(0, a.path.lastIndexOf("/"))));
    }
    for (const [path, k] of known) {
      if (seen.has(path)) continue;
      if (k.kernel) removed++;
      w.remove(path);
    }
    db.saveRoot(root, layout.name, structural, watch);
    db.commit();
  } catch (e) {
    db.rollback();
    throw e;
  }

  const summary: IndexSummary = {
    root,
    layout: layout.name,
    kernels: db.countKernels(root),
    added,
    updated,
    removed,
    unchanged,
    warnings: db.warnings(root),
    seconds: (performance.now() - started) / 1000,
  };
  log.info(`indexed ${root} (${layout.name}): ${summary.kernels} kernels in ${summary.seconds.toFixed(2)} s`);
  return summary;
}

/** lstat that refuses symlinks leaving the root and reports other failures. */
function statOrWarn(path: string, root: string, warnings: ScanWarning[]) {
  try {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      let real: string;
      try {
        real = realpathSync(path);
      } catch {
        return st; // dangling: recorded as a plain entry, never followed
      }
      if (!isInside(root, real)) {
        warnings.push(warn(path, "symlink-escape", `symbolic link leaves the cache root (to ${real}); not followed`));
        return undefined;
      }
    }
    return st;
  } catch (e) {
    warnings.push(warn(path, "permission", `cannot stat: ${(e as Error).message}`));
    return undefined;
  }
}

async function readAll(jobs: EntryJob[], opts: IndexOptions, put: (r: EntryRecord) => void): Promise<void> {
  const threads = opts.threads ?? Math.min(4, Math.max(1, availableParallelism()));
  const bar = opts.progress && jobs.length >= 5000 ? await progressBar(jobs.length) : undefined;
  if (threads === 0 || jobs.length < (opts.minJobsForThreads ?? 2000)) {
    for (let i = 0; i < jobs.length; i += BATCH) {
      for (const r of readJobs(jobs.slice(i, i + BATCH))) put(r);
      bar?.update(Math.min(jobs.length, i + BATCH));
    }
    bar?.stop();
    return;
  }
  let next = 0;
  let done = 0;
  const newWorker = workerFactory();
  await Promise.all(
    Array.from({ length: threads }, () => {
      const worker = newWorker();
      return new Promise<void>((resolveDone, reject) => {
        const feed = () => {
          if (next >= jobs.length) {
            worker.postMessage(null);
            return;
          }
          worker.postMessage(jobs.slice(next, next + BATCH));
          next += BATCH;
        };
        worker.on("message", (records: EntryRecord[]) => {
          feed(); // keep the worker busy while this thread writes
          for (const r of records) put(r);
          done += records.length;
          bar?.update(done);
        });
        worker.on("error", reject);
        worker.on("exit", () => resolveDone());
        feed();
      });
    }),
  );
  bar?.stop();
}

/** Run from source (the tests), a worker must register the TypeScript loader itself. */
function workerFactory(): () => Worker {
  if (!import.meta.url.endsWith(".ts")) return () => new Worker(new URL("./worker.js", import.meta.url));
  const url = new URL("./worker.ts", import.meta.url).href;
  const code = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
  return () => new Worker(code, { eval: true });
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
