// Opening the index database: settings, then the schema made once, however many
// mcm processes open a new database at the same moment.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { McmError } from "../core/errors.js";
import { MIGRATIONS } from "./schema.js";

/** How long a command waits for another mcm's lock before it gives up. */
export const BUSY_TIMEOUT_MS = 5000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code === "SQLITE_BUSY" || code.startsWith("SQLITE_BUSY_"));
}

/**
 * Runs `step` again while SQLite answers SQLITE_BUSY without waiting. Switching a
 * new database to WAL upgrades a read lock to an exclusive one, and SQLite skips
 * the busy handler there (it would deadlock): measured, 6 processes opening one
 * new file at once fail this way in about a third of the tries.
 */
function retryBusy<T>(step: () => T, deadline: number): T {
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return step();
    } catch (e) {
      if (!isBusy(e) || Date.now() + wait > deadline) throw e;
      Atomics.wait(sleeper, 0, 0, wait + Math.random() * wait);
    }
  }
}

/** The database at `path` (its folder made if need be), in WAL mode, at the current schema. */
export function openIndexDatabase(path: string): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // first: another mcm creating the same new database holds it locked for a moment
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    retryBusy(() => db.pragma("journal_mode = WAL"), deadline);
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    // a bigger page cache keeps index pages in memory during a big insert
    db.pragma("cache_size = -32768");
    retryBusy(() => migrate(db, path), deadline);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function migrate(db: Database.Database, path: string): void {
  const current = () => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new McmError(`index database ${path} was written by a newer mcm (schema ${version})`);
    }
    return version;
  };
  if (current() === MIGRATIONS.length) return;
  // every step in one write transaction, taken before the version is read again:
  // of two processes opening a new database, the second sees the first's schema
  db.transaction(() => {
    for (let v = current(); v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
