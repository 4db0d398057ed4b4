// Worker thread: phase one (check.ts) of a share of a re-index's batches, a
// chunk at a time; posts back each batch's mtimes and digests.
import { parentPort } from "node:worker_threads";
import { type BatchNames, checkBatch } from "./check.js";

parentPort?.on("message", (batches: BatchNames[]) => {
  const checked = batches.map(checkBatch);
  parentPort?.postMessage(
    checked,
    checked.map((c) => c.mtimes.buffer as ArrayBuffer),
  );
});
