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
    const shares = this.workers.map((worker, k) => checkIn(worker, batches.slice((k + 1) * per, (k + 2) * per)));
    const mine = batches.slice(0, per).map(checkBatch);
    return mine.concat(...(await Promise.all(shares)));
  }

  /** Stops the workers (they wait for more batches). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Batches a worker is sent at a time: its heap holds a few chunks' names, not its whole share's (40 MB at 1M). */
const CHUNK = 32;

/** `batches` checked by `worker`, two chunks in flight so that it never waits. */
function checkIn(worker: Worker, batches: BatchNames[]): Promise<CheckedBatch[]> {
  return new Promise((resolveDone, reject) => {
    const out: CheckedBatch[] = [];
    let sent = 0;
    const send = () => {
      const chunk = batches.slice(sent, sent + CHUNK);
      sent += chunk.length;
      worker.postMessage(
        chunk.map(({ dir, names, fresh, digests }) => ({ dir: { path: dir.path }, names, fresh, digests })),
      );
    };
    const onMessage = (checked: CheckedBatch[]) => {
      out.push(...checked);
      if (out.length < batches.length) {
        if (sent < batches.length) send();
        return;
      }
      worker.off("message", onMessage);
      resolveDone(out);
    };
    if (batches.length === 0) return resolveDone(out);
    worker.on("message", onMessage);
    worker.once("error", reject);
    send();
    if (sent < batches.length) send();
  });
}
