import { existsSync, statSync } from "node:fs";
import type { IndexSummary } from "../core/types.js";
import type { IndexDb } from "../db/index.js";
import { hitDirs, ingestHits } from "../hits/ingest.js";
import { log } from "../log.js";
import type { IndexOptions } from "./indexer.js";

/**
 * Re-indexes the indexed roots (or only `only`) whose watched folders changed
 * since the last index, and drops roots that no longer exist. A clean root
 * costs a few stat calls.
 */
export async function refreshRoots(
  db: IndexDb,
  only: string | undefined,
  opts: Omit<IndexOptions, "mode">,
): Promise<IndexSummary[]> {
  const out: IndexSummary[] = [];
  for (const r of db.rootsFor(only)) {
    if (!existsSync(r.path)) {
      log.warn(`cache dir ${r.path} no longer exists; dropped from the index`);
      db.dropRoot(r.path);
      continue;
    }
    const changed = Object.entries(r.watch).some(
      ([dir, mtime]) => statSync(dir, { throwIfNoEntry: false })?.mtimeMs !== mtime,
    );
    if (changed) {
      // loaded only when needed: a clean refresh, the usual case, stays light
      const { indexRoot } = await import("./indexer.js");
      out.push(await indexRoot(db, r.path, { ...opts, mode: r.layout }));
    } else ingestHits(db, hitDirs(Object.keys(r.digests))); // appends to a hit log change no folder's mtime
  }
  return out;
}
