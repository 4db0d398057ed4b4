// Worker thread: reads batches of cache entries with sync calls and posts the records back.
import { parentPort } from "node:worker_threads";
import { type EntryJob, readJobs } from "./jobs.js";

parentPort?.on("message", (jobs: EntryJob[] | null) => {
  if (jobs === null) {
    parentPort?.close();
    return;
  }
  parentPort?.postMessage(readJobs(jobs));
});
