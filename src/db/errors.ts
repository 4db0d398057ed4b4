// SQLite failures of the index database as one line naming it. Duck-typed, so
// that cli.ts need not load better-sqlite3 to recognise a SqliteError.
import { McmError } from "../core/errors.js";

const WHY: [prefix: string, say: (path: string, code: string) => string][] = [
  [
    "SQLITE_FULL",
    (p, c) =>
      `the index database ${p} is full: its filesystem has no space left (${c}); free some or use --db elsewhere`,
  ],
  [
    "SQLITE_READONLY",
    (p, c) => `the index database ${p} is read-only (${c}): check its permissions, or use --db elsewhere`,
  ],
  [
    "SQLITE_CANTOPEN",
    (p, c) => `cannot open the index database ${p} (${c}): can mcm create and write files in its folder?`,
  ],
  ["SQLITE_NOTADB", (p, c) => `${p} is not an SQLite database (${c}): do --db or MCM_DB name the right file?`],
  ["SQLITE_CORRUPT", (p, c) => `the index database ${p} is corrupt (${c}): remove it, and mcm index builds it again`],
  ["SQLITE_BUSY", (p, c) => `the index database ${p} stayed locked by another mcm (${c}); try again when it is done`],
  ["SQLITE_IOERR", (p, c) => `the index database ${p}: disk I/O error (${c})`],
];

/** The McmError for a SqliteError of the index database at `path`; undefined for anything else. */
export function databaseError(e: unknown, path: string): McmError | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if ((e as Error | null)?.name !== "SqliteError" || typeof code !== "string") return undefined;
  const why = WHY.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`));
  return why ? new McmError(why[1](path, code)) : undefined;
}
