// Worker thread: stats batches of cache entries with sync calls; for a batch
// that changed, reads the entries and writes them to the index through its own
// connections. Posts back what it counted. A run where nothing changed never
// loads the database driver here.
import { parentPort, workerData } from "node:worker_threads";
import type { IndexDb } from "../db/index.js";
import { checkBatch, type EntryBatch, storeBatch } from "./jobs.js";

const { dbPath } = workerData as { dbPath: string };
let conn: { db: IndexDb; snapshot: IndexDb } | undefined;

async function connect() {
  if (!conn) {
    const { IndexDb } = await import("../db/index.js");
    // a snapshot for lookups: the other workers' commits would empty a writing connection's page cache each time
    conn = { db: new IndexDb(dbPath), snapshot: new IndexDb(dbPath, { snapshot: true }) };
  }
  return conn;
}

parentPort?.on("message", async (batch: EntryBatch | null) => {
  if (batch === null) {
    conn?.snapshot.close();
    conn?.db.close();
    parentPort?.close();
    return;
  }
  const checked = checkBatch(batch);
  if (checked.done) {
    parentPort?.postMessage(checked.counts);
    return;
  }
  const { db, snapshot } = await connect();
  parentPort?.postMessage(storeBatch(batch, checked, db, snapshot));
});
