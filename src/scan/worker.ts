// Worker thread: reads batches of cache entries with sync calls and writes them
// to the index through its own connection (opened at the first batch); posts
// back what it counted.
import { parentPort, workerData } from "node:worker_threads";
import type { IndexDb } from "../db/index.js";
import { type EntryBatch, storeBatch } from "./jobs.js";

const { dbPath } = workerData as { dbPath: string };
let db: IndexDb | undefined;

parentPort?.on("message", async (batch: EntryBatch | null) => {
  if (batch === null) {
    db?.close();
    parentPort?.close();
    return;
  }
  db ??= new (await import("../db/index.js")).IndexDb(dbPath);
  parentPort?.postMessage(storeBatch(batch, db));
});
