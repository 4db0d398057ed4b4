// The only module that speaks SQL.
import type Database from "better-sqlite3";
import { backendByName } from "../backends/index.js";
import { McmError } from "../core/errors.js";
import type { KernelFilters, SortSpec } from "../core/filters.js";
import type { KernelFile, KernelRecord, KernelRow, OtherRecord, RootRow, ScanWarning } from "../core/types.js";
import type { PackedKernel } from "../pack/oci/mcv.js";
import { databaseError } from "./errors.js";
import { kernelJsonSql } from "./kernel-json-sql.js";
import { openIndexDatabase } from "./open.js";

/** Lookups of one key in one Triton dir, counted from hit logs. */
export interface LookupCount {
  container: string;
  key: string;
  name: string | null;
  hits: number;
  misses: number;
  first: number;
  last: number;
}

export interface LookupHistory {
  hits: number;
  misses: number;
  firstAccess: number | null;
  lastAccess: number | null;
}

export interface KnownEntry {
  mtime: number;
  kernel: boolean;
}

export const KERNEL_COLUMNS = `path, root, container, layout, key, name, backend, arch,
  warp_size AS warpSize, num_warps AS numWarps, num_stages AS numStages, num_ctas AS numCtas,
  shared, triton_version AS tritonVersion, total_size AS totalSize, ir_size AS irSize,
  asm_size AS asmSize, file_count AS fileCount, modified_time AS modifiedTime,
  stale_group AS staleGroupPaths, vllm_hash AS vllmHash, rank, prefix, warnings,
  first_seen AS firstSeen, hits, misses, last_access AS lastAccess, embedded`;

const SORT_COLUMNS: Record<SortSpec["field"], string> = {
  name: "name",
  size: "total_size",
  modified: "modified_time",
  hits: "hits",
  "last-access": "last_access",
  backend: "backend",
  arch: "arch",
  hash: "key",
};

/** A kernel as push packs it (iteratePacked), with its root and layout. */
export interface PackRow extends PackedKernel {
  root: string;
  layout: KernelRow["layout"];
  embedded: boolean;
}

// the facts as [hash, ptx_version, debug]: typed as JSON.parse would read them, null when the text is not JSON
const m = "b.metadata";
const PACK_FACTS = `(SELECT CASE WHEN json_valid(${m}) THEN json_array(
    CASE WHEN json_type(${m}, '$.hash') = 'text' THEN json_extract(${m}, '$.hash') END,
    CASE WHEN json_type(${m}, '$.ptx_version') IN ('integer', 'real') THEN json_extract(${m}, '$.ptx_version') END,
    json_type(${m}, '$.debug') IS 'true') END
  FROM kernel_blobs b WHERE b.path = kernels.path)`;
const PACK_COLUMNS = `path, root, layout, key, backend, arch, warp_size, num_warps, num_stages, vllm_hash, embedded, ${PACK_FACTS}`;

type Raw = Record<string, unknown>;

function toKernelRow(r: Raw): KernelRow {
  return {
    ...(r as unknown as KernelRow),
    staleGroupPaths: r.staleGroupPaths === 1,
    warnings: r.warnings ? (JSON.parse(r.warnings as string) as ScanWarning[]) : [],
  };
}

/** A KERNEL_COLUMNS row read with .raw(), in the columns' order. */
export function kernelRowOf(r: unknown[]): KernelRow {
  return {
    path: r[0] as string,
    root: r[1] as string,
    container: r[2] as string,
    layout: r[3] as KernelRow["layout"],
    key: r[4] as string,
    name: r[5] as string,
    backend: r[6] as string,
    arch: r[7] as string,
    warpSize: r[8] as number | null,
    numWarps: r[9] as number | null,
    numStages: r[10] as number | null,
    numCtas: r[11] as number | null,
    shared: r[12] as number | null,
    tritonVersion: r[13] as string | null,
    totalSize: r[14] as number,
    irSize: r[15] as number,
    asmSize: r[16] as number,
    fileCount: r[17] as number,
    modifiedTime: r[18] as number,
    staleGroupPaths: r[19] === 1,
    vllmHash: r[20] as string | null,
    rank: r[21] as string | null,
    prefix: r[22] as string | null,
    warnings: r[23] ? (JSON.parse(r[23] as string) as ScanWarning[]) : [],
    firstSeen: r[24] as number,
    hits: r[25] as number,
    misses: r[26] as number,
    lastAccess: r[27] as number | null,
    embedded: r[28] as number,
  };
}

export class IndexDb {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    try {
      this.db = openIndexDatabase(path);
    } catch (e) {
      if (e instanceof McmError) throw e;
      throw databaseError(e, path) ?? new McmError(`cannot open the index database ${path}: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.db.close();
  }

  private lookupStmt: Database.Statement | undefined;

  /** What the index holds for each of these entry paths: one query for a whole batch. */
  lookupEntries(paths: string[]): Map<string, KnownEntry> {
    this.lookupStmt ??= this.db
      .prepare(
        `SELECT path, dir_mtime, 1 FROM kernels WHERE path IN (SELECT value FROM json_each(@paths))
         UNION ALL SELECT path, dir_mtime, 0 FROM others WHERE path IN (SELECT value FROM json_each(@paths))`,
      )
      .raw();
    const m = new Map<string, KnownEntry>();
    for (const [p, mtime, k] of this.lookupStmt.all({ paths: JSON.stringify(paths) }) as [string, number, number][]) {
      m.set(p, { mtime, kernel: k === 1 });
    }
    return m;
  }

  /** How many entries of a root the index holds, artifacts (always re-read) apart. */
  countEntries(root: string): number {
    return this.db
      .prepare(
        "SELECT (SELECT count(*) FROM kernels WHERE root = ? AND embedded = 0) + (SELECT count(*) FROM others WHERE root = ? AND dir_mtime >= 0)",
      )
      .pluck()
      .get(root, root) as number;
  }

  /**
   * Entries of a root with the folder mtime they were read at (-1: an artifact,
   * re-read every time); without `all`, only the artifacts.
   */
  knownEntries(root: string, all = true): Map<string, KnownEntry> {
    const m = new Map<string, KnownEntry>();
    const artifacts = "SELECT path, dir_mtime, 0 FROM others WHERE root = @root AND dir_mtime < 0";
    const sql = all
      ? "SELECT path, dir_mtime, 1 FROM kernels WHERE root = @root AND embedded = 0 UNION ALL SELECT path, dir_mtime, 0 FROM others WHERE root = @root"
      : artifacts;
    const rows = this.db.prepare(sql).raw().all({ root }) as [string, number, number][];
    for (const [p, mtime, k] of rows) m.set(p, { mtime, kernel: k === 1 });
    return m;
  }

  private cachedWriter: ReturnType<IndexDb["makeWriter"]> | undefined;

  /** Writes scan results (prepared once per connection). Call inside a transaction. */
  writer() {
    this.cachedWriter ??= this.makeWriter();
    return this.cachedWriter;
  }

  private makeWriter() {
    const putKernel = this.db.prepare(`INSERT INTO kernels (path, root, container, layout, key, name, backend, arch,
        warp_size, num_warps, num_stages, num_ctas, shared, triton_version, total_size, ir_size, asm_size, file_count,
        dir_mtime, modified_time, stale_group, vllm_hash, rank, prefix, warnings, first_seen, embedded, hits, misses, last_access)
      SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
        coalesce(l.hits, 0), coalesce(l.misses, 0), l.last_access
      FROM (SELECT 1) LEFT JOIN lookups l ON l.container = ? AND l.key = ?
      WHERE true -- a new kernel starts with the lookups recorded for its key
      ON CONFLICT(path) DO UPDATE SET root=excluded.root, container=excluded.container, layout=excluded.layout,
        key=excluded.key, name=excluded.name, backend=excluded.backend, arch=excluded.arch,
        warp_size=excluded.warp_size, num_warps=excluded.num_warps, num_stages=excluded.num_stages,
        num_ctas=excluded.num_ctas, shared=excluded.shared, triton_version=excluded.triton_version,
        total_size=excluded.total_size, ir_size=excluded.ir_size, asm_size=excluded.asm_size,
        file_count=excluded.file_count, dir_mtime=excluded.dir_mtime, modified_time=excluded.modified_time,
        stale_group=excluded.stale_group, vllm_hash=excluded.vllm_hash, rank=excluded.rank,
        prefix=excluded.prefix, warnings=excluded.warnings, embedded=excluded.embedded`);
    const putBlob = this.db.prepare("INSERT OR REPLACE INTO kernel_blobs (path, files, metadata) VALUES (?, ?, ?)");
    const putOther = this.db.prepare(
      "INSERT OR REPLACE INTO others (path, root, container, kind, bytes, files, dir_mtime, warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const delKernel = this.db.prepare("DELETE FROM kernels WHERE path = ?");
    const delOther = this.db.prepare("DELETE FROM others WHERE path = ?");
    const warnText = (w: ScanWarning[]) => (w.length ? JSON.stringify(w) : null);
    return {
      kernel(k: KernelRecord): void {
        putKernel.run(
          k.path,
          k.root,
          k.container,
          k.layout,
          k.key,
          k.name,
          k.backend,
          k.arch,
          k.warpSize,
          k.numWarps,
          k.numStages,
          k.numCtas,
          k.shared,
          k.tritonVersion,
          k.totalSize,
          k.irSize,
          k.asmSize,
          k.files.length,
          k.dirMtime,
          k.modifiedTime,
          k.staleGroupPaths ? 1 : 0,
          k.vllmHash,
          k.rank,
          k.prefix,
          warnText(k.warnings),
          Date.now(),
          k.embedded,
          k.container,
          k.key,
        );
        putBlob.run(k.path, JSON.stringify(k.files.map((f) => [f.name, f.kind, f.size])), k.metadata);
      },
      other(o: OtherRecord): void {
        putOther.run(o.path, o.root, o.container, o.kind, o.bytes, o.files, o.dirMtime, warnText(o.warnings));
      },
      remove(path: string): void {
        delKernel.run(path);
        delOther.run(path);
      },
    };
  }

  /**
   * Makes the index follow a prune without re-reading the folders: kernels that
   * went are forgotten; others lose the files removed and take the folder's new mtime.
   */
  followPrune(changes: { path: string; gone: boolean; removedFiles: string[]; dirMtime: number | null }[]): void {
    const forget = this.db.prepare("DELETE FROM kernels WHERE path = ?");
    const setFiles = this.db.prepare("UPDATE kernel_blobs SET files = ? WHERE path = ?");
    const setSizes = this.db.prepare(`UPDATE kernels SET total_size = ?, ir_size = ?, asm_size = ?, file_count = ?,
      dir_mtime = ? WHERE path = ?`);
    this.db
      .transaction(() => {
        for (const c of changes) {
          if (c.gone || c.dirMtime === null) {
            forget.run(c.path); // gone, or its folder cannot be read: the next index reads it again
            continue;
          }
          const removed = new Set(c.removedFiles);
          const files = this.kernelBlob(c.path).files.filter((f) => !removed.has(f.name));
          const sum = (kind?: string) =>
            files.reduce((n, f) => n + (kind === undefined || f.kind === kind ? f.size : 0), 0);
          setFiles.run(JSON.stringify(files.map((f) => [f.name, f.kind, f.size])), c.path);
          setSizes.run(sum(), sum("ir"), sum("asm"), files.length, c.dirMtime, c.path);
        }
      })
      .immediate(); // a deferred one reads first, and its upgrade to a write skips the busy wait
  }

  /** Runs `fn` holding the write lock: concurrent mcm processes take turns. */
  exclusive<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  hitLogOffset(path: string): number {
    return (this.db.prepare("SELECT offset FROM hit_logs WHERE path = ?").pluck().get(path) as number | undefined) ?? 0;
  }

  setHitLogOffset(path: string, offset: number | null): void {
    if (offset === null) this.db.prepare("DELETE FROM hit_logs WHERE path = ?").run(path);
    else this.db.prepare("INSERT OR REPLACE INTO hit_logs (path, offset) VALUES (?, ?)").run(path, offset);
  }

  /** Adds counted lookups, and copies the totals onto the indexed kernels of those keys. */
  addLookups(rows: LookupCount[]): void {
    const up = this.db.prepare(`INSERT INTO lookups (container, key, name, hits, misses, first_access, last_access)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(container, key) DO UPDATE SET
        name = coalesce(excluded.name, name), hits = hits + excluded.hits, misses = misses + excluded.misses,
        first_access = min(coalesce(first_access, excluded.first_access), excluded.first_access),
        last_access = max(coalesce(last_access, excluded.last_access), excluded.last_access)`);
    const copy = this.db.prepare(`UPDATE kernels SET (hits, misses, last_access) =
      (SELECT hits, misses, last_access FROM lookups WHERE container = ? AND key = ?) WHERE container = ? AND key = ?`);
    for (const r of rows) {
      up.run(r.container, r.key, r.name, r.hits, r.misses, r.first, r.last);
      copy.run(r.container, r.key, r.container, r.key);
    }
  }

  /** The lookup history of one key in one Triton dir. */
  lookupHistory(container: string, key: string): LookupHistory | undefined {
    const sql = `SELECT hits, misses, first_access AS firstAccess, last_access AS lastAccess
      FROM lookups WHERE container = ? AND key = ?`;
    return this.db.prepare(sql).get(container, key) as LookupHistory | undefined;
  }

  /** Kernel names by misses (a kernel that keeps missing is being recompiled), in these Triton dirs. */
  topMisses(containers: string[], limit = 10): { name: string; misses: number; hits: number }[] {
    return this.db
      .prepare(`SELECT coalesce(name, key) AS name, sum(misses) AS misses, sum(hits) AS hits FROM lookups
        WHERE container IN (SELECT value FROM json_each(?)) AND misses > 0
        GROUP BY 1 ORDER BY misses DESC, name LIMIT ?`)
      .all(JSON.stringify(containers), limit) as { name: string; misses: number; hits: number }[];
  }

  begin(): void {
    this.db.exec("BEGIN IMMEDIATE");
  }

  commit(): void {
    this.db.exec("COMMIT");
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec("ROLLBACK");
  }

  saveRoot(root: Omit<RootRow, "indexedAt">): void {
    this.db
      .prepare(
        "INSERT OR REPLACE INTO roots (path, layout, indexed_at, warnings, watch, digests) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        root.path,
        root.layout,
        Date.now(),
        JSON.stringify(root.warnings),
        JSON.stringify(root.watch),
        JSON.stringify(root.digests),
      );
  }

  /** Indexed roots holding `dir` (a root or a folder inside one); all roots without it. */
  rootsFor(dir?: string): RootRow[] {
    return this.roots().filter((r) => dir === undefined || r.path === dir || dir.startsWith(`${r.path}/`));
  }

  root(path: string): RootRow | undefined {
    return this.roots().find((r) => r.path === path);
  }

  roots(): RootRow[] {
    const rows = this.db
      .prepare("SELECT path, layout, indexed_at AS indexedAt, warnings, watch, digests FROM roots ORDER BY path")
      .all() as Raw[];
    return rows.map((r) => ({
      ...(r as unknown as RootRow),
      warnings: JSON.parse(r.warnings as string),
      watch: JSON.parse(r.watch as string),
      digests: JSON.parse(r.digests as string),
    }));
  }

  dropRoot(root: string): void {
    this.db
      .transaction(() => {
        this.db.prepare("DELETE FROM kernels WHERE root = ?").run(root);
        this.db.prepare("DELETE FROM others WHERE root = ?").run(root);
        this.db.prepare("DELETE FROM units WHERE root = ?").run(root);
        this.db.prepare("DELETE FROM compile_dirs WHERE root = ?").run(root);
        this.db.prepare("DELETE FROM roots WHERE path = ?").run(root);
      })
      .immediate();
  }

  /** Every warning of a root: from its structure and from each entry. */
  warnings(root?: string): ScanWarning[] {
    const byRoot = root === undefined ? "" : "AND root = ?";
    const args = root === undefined ? [] : [root, root, root];
    // the partial indexes hold only rows with warnings: the planner would rather walk every row of the root
    const rows = this.db
      .prepare(`SELECT warnings FROM kernels INDEXED BY kernels_warned WHERE warnings IS NOT NULL ${byRoot}
        UNION ALL SELECT warnings FROM others INDEXED BY others_warned WHERE warnings IS NOT NULL ${byRoot}
        UNION ALL SELECT warnings FROM units WHERE warnings IS NOT NULL ${byRoot}`)
      .pluck()
      .all(...args) as string[];
    const out: ScanWarning[] = [];
    for (const r of this.roots()) if (root === undefined || r.path === root) out.push(...r.warnings);
    for (const w of rows) out.push(...(JSON.parse(w) as ScanWarning[]));
    return out;
  }

  /** Bytes of compiled code: kernel folders and compile units (which hold the embedded kernels). */
  rootBytes(root: string): number {
    return this.db
      .prepare(`SELECT (SELECT coalesce(sum(total_size), 0) FROM kernels WHERE root = ? AND embedded = 0)
        + (SELECT coalesce(sum(bytes), 0) FROM units WHERE root = ?)`)
      .pluck()
      .get(root, root) as number;
  }

  countEmbedded(root: string): number {
    return this.db.prepare("SELECT count(*) FROM kernels WHERE root = ? AND embedded > 0").pluck().get(root) as number;
  }

  countKernels(root: string): number {
    return this.db.prepare("SELECT count(*) FROM kernels WHERE root = ?").pluck().get(root) as number;
  }

  queryKernels(f: KernelFilters, sort?: SortSpec, limit?: number, now = Date.now()): KernelRow[] {
    return [...this.iterateKernels(f, sort, limit, now)];
  }

  /** queryKernels one row at a time: a listing of every kernel holds one row in memory, not all. */
  *iterateKernels(f: KernelFilters, sort?: SortSpec, limit?: number, now = Date.now()): Generator<KernelRow> {
    const { sql, args } = listingSql(KERNEL_COLUMNS, f, sort, limit, now);
    // rows as arrays, made into objects of one fixed shape: a third faster than better-sqlite3's objects
    for (const r of this.db
      .prepare(sql)
      .raw()
      .iterate(...args) as Iterable<unknown[]>)
      yield kernelRowOf(r);
  }

  /**
   * What push packs of each kernel iterateKernels gives, in its order: a few
   * columns, and the facts of its <name>.json that MCV's manifest copies read
   * by SQLite (packFactsSql), so no metadata text is made in JS.
   */
  *iteratePacked(f: KernelFilters, now = Date.now()): Generator<PackRow> {
    const { sql, args } = listingSql(PACK_COLUMNS, f, undefined, undefined, now);
    for (const r of this.db
      .prepare(sql)
      .raw()
      .iterate(...args) as Iterable<unknown[]>) {
      const facts = r[11] === null ? null : (JSON.parse(r[11] as string) as [string | null, number | null, number]);
      yield {
        path: r[0] as string,
        root: r[1] as string,
        layout: r[2] as PackRow["layout"],
        key: r[3] as string,
        backend: r[4] as string,
        arch: r[5] as string,
        warpSize: r[6] as number | null,
        numWarps: r[7] as number | null,
        numStages: r[8] as number | null,
        vllmHash: r[9] as string | null,
        embedded: (r[10] as number) > 0,
        hash: facts?.[0] ?? null,
        ptxVersion: facts?.[1] ?? null,
        debug: facts?.[2] === 1,
      };
    }
  }

  /** iterateKernels as `--json` element texts, jsonElement(kernelJson(row), 1), written by SQLite. */
  *iterateKernelJson(f: KernelFilters, sort?: SortSpec, limit?: number, now = Date.now()): Generator<string> {
    const { sql, args } = listingSql(kernelJsonSql(1), f, sort, limit, now);
    yield* this.db
      .prepare(sql)
      .pluck()
      .iterate(...args) as Iterable<string>;
  }

  /** What a listing (the same filters, order and limit) adds up to, from SQL. */
  listingTotals(f: KernelFilters, sort?: SortSpec, limit?: number, now = Date.now()) {
    // without a limit the order changes nothing: no sort
    const filtered = filterSql(f, now);
    const { sql, args } =
      limit === undefined
        ? { sql: `SELECT total_size, stale_group, embedded FROM kernels ${filtered.where}`, args: filtered.args }
        : listingSql("total_size, stale_group, embedded", f, sort, limit, now);
    return this.db
      .prepare(`SELECT count(*) AS kernels, coalesce(sum(total_size), 0) AS bytes,
          coalesce(sum(stale_group), 0) AS stale, coalesce(max(embedded > 0), 0) AS inUnits FROM (${sql})`)
      .get(...args) as { kernels: number; bytes: number; stale: number; inUnits: number };
  }

  /** The bytes of the kernels that match `f`, per cache root. */
  rootSizes(f: KernelFilters, now = Date.now()): [root: string, bytes: number][] {
    const { where, args } = filterSql(f, now);
    return this.db
      .prepare(`SELECT root, sum(total_size) FROM kernels ${where} GROUP BY root`)
      .raw()
      .all(...args) as [string, number][];
  }

  /** Kernels whose key (folder name) starts with `prefix`, case-insensitive. */
  kernelsByPrefix(prefix: string): KernelRow[] {
    const rows = this.db
      .prepare(
        `SELECT ${KERNEL_COLUMNS} FROM kernels WHERE substr(lower(key), 1, ?) = lower(?) ORDER BY key, path LIMIT 50`,
      )
      .all(prefix.length, prefix) as Raw[];
    return rows.map(toKernelRow);
  }

  private blobStmt: Database.Statement | undefined;

  kernelBlob(path: string): { files: KernelFile[]; metadata: string | null } {
    this.blobStmt ??= this.db.prepare("SELECT files, metadata FROM kernel_blobs WHERE path = ?");
    const r = this.blobStmt.get(path) as Raw | undefined;
    if (!r) return { files: [], metadata: null };
    return { files: parseFiles(r.files as string), metadata: r.metadata as string | null };
  }

  /** Sums for `stats`, over the kernels that match `f`. */
  kernelGroups(f: KernelFilters, column: "backend" | "arch" | "triton_version" | "name" | "layout", limit?: number) {
    const { where, args } = filterSql(f, Date.now());
    const lim = limit ? ` LIMIT ${limit}` : "";
    return this.db
      .prepare(`SELECT coalesce(${column}, 'unknown') AS key, count(*) AS kernels, sum(total_size) AS bytes
        FROM kernels ${where} GROUP BY 1 ORDER BY kernels DESC, bytes DESC, key${lim}`)
      .all(...args) as { key: string; kernels: number; bytes: number }[];
  }

  /** Kernels that match `f`, counted by what decides where they can hit (for `check`). */
  kernelTargets(f: KernelFilters) {
    const { where, args } = filterSql(f, Date.now());
    const rows = this.db
      .prepare(`SELECT backend, arch, warp_size AS warpSize, triton_version AS tritonVersion,
          stale_group AS staleGroupPaths, count(*) AS kernels, sum(total_size) AS bytes
        FROM kernels ${where} GROUP BY 1, 2, 3, 4, 5 ORDER BY kernels DESC, backend, arch, tritonVersion`)
      .all(...args) as Raw[];
    return rows.map((r) => ({
      ...(r as {
        backend: string;
        arch: string;
        warpSize: number | null;
        tritonVersion: string | null;
        kernels: number;
        bytes: number;
      }),
      staleGroupPaths: r.staleGroupPaths === 1,
    }));
  }

  kernelTotals(f: KernelFilters) {
    const { where, args } = filterSql(f, Date.now());
    return this.db
      .prepare(`SELECT count(*) AS kernels, coalesce(sum(total_size), 0) AS bytes, coalesce(sum(file_count), 0) AS files,
          coalesce(sum(ir_size), 0) AS irBytes, coalesce(sum(asm_size), 0) AS asmBytes,
          coalesce(sum(stale_group), 0) AS staleGroup, coalesce(sum(hits), 0) AS hits, coalesce(sum(misses), 0) AS misses
        FROM kernels ${where}`)
      .get(...args) as {
      kernels: number;
      bytes: number;
      files: number;
      irBytes: number;
      asmBytes: number;
      staleGroup: number;
      hits: number;
      misses: number;
    };
  }

  otherGroups(cacheDir?: string) {
    const where = cacheDir ? "WHERE root = ? OR substr(path, 1, ?) = ?" : "";
    const args = cacheDir ? [cacheDir, cacheDir.length + 1, `${cacheDir}/`] : [];
    return this.db
      .prepare(`SELECT kind, count(*) AS entries, sum(files) AS files, sum(bytes) AS bytes FROM others ${where}
        GROUP BY kind ORDER BY bytes DESC, kind`)
      .all(...args) as { kind: string; entries: number; files: number; bytes: number }[];
  }

  /** The Inductor cache roots under a cache dir: the folders that hold an fxgraph/ or aotautograd/ the index knows. */
  inductorRoots(cacheDir: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT substr(path, 1, length(path) - length(CASE kind WHEN 'inductor-fxgraph' THEN '/fxgraph' ELSE '/aotautograd' END)) AS dir
         FROM others WHERE root = ? AND kind IN ('inductor-fxgraph', 'inductor-aotautograd') ORDER BY dir`,
      )
      .all(cacheDir) as { dir: string }[];
    return rows.map((r) => r.dir);
  }
}

export function parseFiles(text: string): KernelFile[] {
  return (JSON.parse(text) as [string, KernelFile["kind"], number][]).map(([name, kind, size]) => ({
    name,
    kind,
    size,
  }));
}

/** `*` and `?` keep their meaning; `[`, which SQLite's GLOB reads as a character class, matches itself. */
function sqliteGlob(pattern: string): string {
  return pattern.replaceAll("[", "[[]");
}

/** The SELECT of a kernel listing: `columns` of the kernels that match, in list's order, at most `limit`. */
function listingSql(
  columns: string,
  f: KernelFilters,
  sort: SortSpec | undefined,
  limit: number | undefined,
  now: number,
) {
  const { where, args } = filterSql(f, now);
  const order = sort ? `${SORT_COLUMNS[sort.field]} ${sort.desc ? "DESC" : "ASC"}, ` : "";
  const lim = limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(limit))}` : "";
  return { sql: `SELECT ${columns} FROM kernels ${where} ORDER BY ${order}name, modified_time DESC, path${lim}`, args };
}

export function filterSql(f: KernelFilters, now: number): { where: string; args: unknown[] } {
  const c: string[] = [];
  const a: unknown[] = [];
  if (f.name?.match === "exact") {
    // an equality on the name index: a filter on 100k kernels stays a few ms
    c.push("name = ?");
    a.push(f.name.name);
  } else if (f.name?.match === "glob") {
    // scans the name index (each name once), not the rows
    c.push("name IN (SELECT DISTINCT name FROM kernels INDEXED BY kernels_name WHERE name GLOB ?)");
    a.push(sqliteGlob(f.name.pattern));
  }
  if (f.backend !== undefined) {
    c.push("lower(backend) = lower(?)");
    a.push(backendByName(f.backend)?.name ?? f.backend);
  }
  if (f.arch !== undefined) {
    c.push("lower(arch) = lower(?)");
    a.push(f.arch.replace(/^sm_?/i, ""));
  }
  if (f.olderThanMs !== undefined) {
    c.push("modified_time < ?");
    a.push(now - f.olderThanMs);
  }
  if (f.youngerThanMs !== undefined) {
    c.push("modified_time >= ?");
    a.push(now - f.youngerThanMs);
  }
  if (f.cacheDir !== undefined) {
    c.push("(root = ? OR substr(path, 1, ?) = ?)");
    a.push(f.cacheDir, f.cacheDir.length + 1, `${f.cacheDir}/`);
  }
  if (f.mode !== undefined && f.mode !== "auto") {
    c.push("layout = ?");
    a.push(f.mode);
  }
  if (f.hitsBelow !== undefined) {
    c.push("hits < ?");
    a.push(f.hitsBelow);
  }
  if (f.hitsAbove !== undefined) {
    c.push("hits > ?");
    a.push(f.hitsAbove);
  }
  if (f.onDisk) c.push("embedded = 0");
  if (f.tritonVersion !== undefined) {
    c.push("(triton_version = ? OR substr(triton_version, 1, ?) = ?)");
    a.push(f.tritonVersion, f.tritonVersion.length + 1, `${f.tritonVersion}.`);
  }
  return { where: c.length ? `WHERE ${c.join(" AND ")}` : "", args: a };
}
