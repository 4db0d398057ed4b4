// Phase one of a re-index (check.ts) shared between this thread and worker
// threads: the lstat calls are most of a re-index that finds little changed,
// and they run as well in parallel. The workers are started before the cache
// folder is listed, so that they have loaded by the time the batches are made.
import type { Worker } from "node:worker_threads";
import { type BatchNames, type CheckedBatch, checkBatch } from "./check.js";
import { workerFactory } from "./worker-factory.js";

export class CheckPool {
  private readonly workers: Worker[];

  /** `helpers` workers besides this thread (0: this thread checks alone) */
  constructor(helpers: number) {
    const newWorker = workerFactory("check-worker", {});
    this.workers = Array.from({ length: Math.max(0, helpers) }, newWorker);
    // never what keeps the process alive: an index that fails before it checks leaves none waiting
    for (const w of this.workers) w.unref();
  }

  /** Each batch checked, in order: contiguous shares, this thread's first (it needs no start). */
  async run(batches: BatchNames[]): Promise<CheckedBatch[]> {
    const per = Math.ceil(batches.length / (this.workers.length + 1));
    const shares = this.workers.map((worker, k) => {
      const share = batches
        .slice((k + 1) * per, (k + 2) * per)
        .map(({ dir, names, fresh, digests }) => ({ dir: { path: dir.path }, names, fresh, digests }));
      worker.postMessage(share);
      return new Promise<CheckedBatch[]>((resolveDone, reject) => {
        worker.once("message", resolveDone);
        worker.once("error", reject);
      });
    });
    const mine = batches.slice(0, per).map(checkBatch);
    return mine.concat(...(await Promise.all(shares)));
  }

  /** Stops the workers (those that were given no batches are waiting). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
