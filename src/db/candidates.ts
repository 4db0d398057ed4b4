// The kernels a prune plan reads: each row with its files, streamed from the
// index in the order a planner wants them.
import type { KernelFilters } from "../core/filters.js";
import type { KernelFile, KernelRow } from "../core/types.js";
import { filterSql, type IndexDb, KERNEL_COLUMNS, kernelRowOf, parseFiles } from "./index.js";
import { WRITER_FILES_WHERE } from "./schema.js";

export type CandidateRow = KernelRow & { files: KernelFile[] };

/**
 * path: by folder (the index's own order: no sort, rows read as they lie);
 * least-recent-use: root by root, least recently used first (--max-size).
 */
export type CandidateOrder = "path" | "least-recent-use";

const ORDER: Record<CandidateOrder, string> = {
  path: "k.path",
  "least-recent-use": "k.root, coalesce(k.last_access, k.modified_time), k.path",
};

const COLUMNS = `${KERNEL_COLUMNS.split(",")
  .map((c) => `k.${c.trim()}`)
  .join(", ")}, b.files`;

function rowOf(r: unknown[]): CandidateRow {
  const row = kernelRowOf(r) as CandidateRow;
  row.files = parseFiles(r[r.length - 1] as string);
  return row;
}

/**
 * The kernels on disk that match `f`, with their files, in `order`, one row in
 * memory at a time. The connection is busy until the last row: what the
 * caller writes meanwhile goes to another database (the plan's).
 */
export function* iterateCandidates(
  index: IndexDb,
  f: KernelFilters,
  order: CandidateOrder,
  now = Date.now(),
): Generator<CandidateRow> {
  yield* candidateRows(index, f, "", ORDER[order], now);
}

/** The statement candidateRows runs: its SQL and arguments. */
export function candidatesSql(f: KernelFilters, blobWhere: string, order: string, now: number) {
  const { where, args } = filterSql({ ...f, onDisk: true }, now);
  // the filters name kernels' columns: applied inside, where no blob column shares a name
  const sql = `SELECT ${COLUMNS} FROM (SELECT * FROM kernels ${where}) k
      JOIN kernel_blobs b ON b.path = k.path ${blobWhere} ORDER BY ${order}`;
  return { sql, args };
}

function* candidateRows(
  index: IndexDb,
  f: KernelFilters,
  blobWhere: string,
  order: string,
  now: number,
): Generator<CandidateRow> {
  const { sql, args } = candidatesSql(f, blobWhere, order, now);
  const rows = index.db
    .prepare(sql)
    .raw()
    .iterate(...args) as Iterable<unknown[]>;
  for (const r of rows) yield rowOf(r);
}

/** One kernel by its path, as iterateCandidates gives it. */
export function candidateAt(index: IndexDb, path: string): CandidateRow | undefined {
  const r = index.db
    .prepare(`SELECT ${COLUMNS} FROM kernels k JOIN kernel_blobs b ON b.path = k.path WHERE k.path = ?`)
    .raw()
    .get(path) as unknown[] | undefined;
  return r && rowOf(r);
}

/** Found through the partial index kernel_blobs_writer_files, not by reading every row. */
export const WITH_WRITER_FILES = `WHERE b.${WRITER_FILES_WHERE}`;

/**
 * The kernels that match `f` with a file named as Triton's writers name their
 * temporary files (tmp.pid_<pid>_…): the few a plan must check for a live writer.
 */
export function withWriterFiles(index: IndexDb, f: KernelFilters, now = Date.now()): Generator<CandidateRow> {
  return candidateRows(index, f, WITH_WRITER_FILES, ORDER.path, now);
}
