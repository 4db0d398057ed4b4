import type { EntryRecord, LayoutName, TritonDir } from "../core/types.js";
import { readEntry } from "./entry.js";

/** One cache entry to (re)read: plain data, so it can cross to a worker thread. */
export interface EntryJob {
  path: string;
  mtime: number;
  root: string;
  layout: LayoutName;
  dir: TritonDir;
}

export function readJobs(jobs: EntryJob[]): EntryRecord[] {
  return jobs.map((j) => readEntry(j.path, j.mtime, { root: j.root, layout: j.layout, dir: j.dir }));
}
