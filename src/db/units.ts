// vLLM compile units and the kernels they embed: the SQL for them.
import type Database from "better-sqlite3";
import type { KernelRecord, UnitRecord, VllmContext } from "../core/types.js";
import type { EmbeddedKernel } from "../scan/vllm-unit.js";
import type { IndexDb } from "./index.js";

export interface UnitRow extends UnitRecord {
  /** distinct kernels it embeds */
  kernels: number;
}

/** What made the units of one folder: cache_key_factors.json, modelinfos/, computation_graph.py. */
export interface CompileDirRecord extends VllmContext {
  path: string;
  root: string;
  /** the selected factors (hashes, target device, CUDA version, the flags that pick the format) */
  factors: Record<string, unknown> | null;
  /** the model architecture, when modelinfos/ names one */
  model: string | null;
  /** a digest of the traced graph's signature: the same model compiled again has the same one */
  graph: string | null;
  /** artifact paths in vllm_compile_cache.py that point elsewhere (a moved cache; `mcm relocate` fixes them) */
  staleIndexPaths: number;
  mtime: number;
}

/** The path an embedded kernel is known by: one row per distinct kernel per compile folder. */
export function embeddedPath(container: string, hash: string): string {
  return `${container}#${hash}`;
}

export class UnitStore {
  /** embedded kernels written by this store: each once, however many units embed it */
  private written = new Set<string>();
  private stmt: Database.Statement | undefined;

  constructor(private readonly idx: IndexDb) {}

  private get db() {
    return this.idx.db;
  }

  /** mtime and size of each unit of a root when last read. */
  states(root: string): Map<string, { mtime: number; bytes: number; inode: string | null }> {
    const rows = this.db.prepare("SELECT path, mtime, bytes, inode FROM units WHERE root = ?").raw().all(root) as [
      string,
      number,
      number,
      string | null,
    ][];
    return new Map(rows.map(([p, mtime, bytes, inode]) => [p, { mtime, bytes, inode }]));
  }

  /** Records a unit read, and the kernels in it (their metadata hashes). Call inside a transaction. */
  save(u: UnitRecord, kernels: EmbeddedKernel[]): void {
    this.stmt ??= this.db.prepare(`INSERT OR REPLACE INTO units (path, root, container, vllm_hash, rank, prefix,
      format, range_start, range_end, subgraph, bytes, files, mtime, digest, inode, warnings, kernels)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.stmt.run(
      u.path,
      u.root,
      u.container,
      u.vllmHash,
      u.rank,
      u.prefix,
      u.format,
      u.rangeStart,
      u.rangeEnd,
      u.subgraph,
      u.bytes,
      u.files,
      u.mtime,
      u.digest,
      u.inode,
      u.warnings.length ? JSON.stringify(u.warnings) : null,
      JSON.stringify(kernels.map((k) => k.hash)),
    );
    const w = this.idx.writer();
    for (const k of kernels) {
      const path = embeddedPath(u.container, k.hash);
      if (this.written.has(path)) continue;
      this.written.add(path);
      const rec: KernelRecord = {
        ...k,
        kind: "kernel",
        path,
        root: u.root,
        container: u.container,
        layout: "vllm",
        dirMtime: u.mtime,
        modifiedTime: u.mtime,
        staleGroupPaths: false,
        vllmHash: u.vllmHash,
        rank: u.rank,
        prefix: u.prefix,
        embedded: 1, // counted in settle()
        warnings: [],
      };
      w.kernel(rec);
    }
  }

  /**
   * Forgets the units of a root (`known`: those the index held) that this run did
   * not see, then counts what embeds each kernel; kernels nothing embeds go.
   */
  settle(root: string, seen: Set<string>, known: Iterable<string> = this.states(root).keys()): number {
    const del = this.db.prepare("DELETE FROM units WHERE path = ?");
    for (const p of known) if (!seen.has(p)) del.run(p);
    const count = new Map<string, number>();
    const rows = this.db.prepare("SELECT container, kernels FROM units WHERE root = ?").raw().all(root) as [
      string,
      string,
    ][];
    for (const [container, hashes] of rows) {
      for (const h of JSON.parse(hashes) as string[]) {
        const p = embeddedPath(container, h);
        count.set(p, (count.get(p) ?? 0) + 1);
      }
    }
    const embedded = this.db
      .prepare("SELECT path FROM kernels WHERE root = ? AND embedded > 0")
      .pluck()
      .all(root) as string[];
    const set = this.db.prepare("UPDATE kernels SET embedded = ? WHERE path = ?");
    const drop = this.db.prepare("DELETE FROM kernels WHERE path = ?");
    let removed = 0;
    for (const p of embedded) {
      const n = count.get(p) ?? 0;
      if (n === 0) removed += drop.run(p).changes;
      else set.run(n, p);
    }
    return removed;
  }

  saveCompileDirs(root: string, dirs: CompileDirRecord[]): void {
    this.db.prepare("DELETE FROM compile_dirs WHERE root = ?").run(root);
    const put = this.db.prepare(`INSERT OR REPLACE INTO compile_dirs (path, root, vllm_hash, rank, prefix, factors,
      model, graph, stale_index, mtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const d of dirs) {
      put.run(
        d.path,
        root,
        d.vllmHash,
        d.rank,
        d.prefix,
        d.factors && JSON.stringify(d.factors),
        d.model,
        d.graph,
        d.staleIndexPaths,
        d.mtime,
      );
    }
  }

  /** The folders that hold the units of a root. */
  compileFolders(root: string): string[] {
    return this.db
      .prepare("SELECT DISTINCT container FROM units WHERE root = ? ORDER BY container")
      .pluck()
      .all(root) as string[];
  }

  /** Units under `cacheDir` (a root or a folder in one), or all. */
  units(cacheDir?: string): UnitRow[] {
    const where = cacheDir ? "WHERE u.root = ? OR substr(u.path, 1, ?) = ?" : "";
    const args = cacheDir ? [cacheDir, cacheDir.length + 1, `${cacheDir}/`] : [];
    const rows = this.db
      .prepare(`SELECT u.path, u.root, u.container, u.vllm_hash AS vllmHash, u.rank, u.prefix, u.format,
          u.range_start AS rangeStart, u.range_end AS rangeEnd, u.subgraph, u.bytes, u.files, u.mtime, u.digest, u.inode,
          u.warnings, json_array_length(u.kernels) AS kernels
        FROM units u ${where} ORDER BY u.path`)
      .all(...args) as (Omit<UnitRow, "warnings"> & { warnings: string | null })[];
    return rows.map((r) => ({ ...r, warnings: r.warnings ? JSON.parse(r.warnings) : [] }));
  }

  compileDirs(cacheDir?: string): CompileDirRecord[] {
    const where = cacheDir ? "WHERE root = ? OR substr(path, 1, ?) = ?" : "";
    const args = cacheDir ? [cacheDir, cacheDir.length + 1, `${cacheDir}/`] : [];
    const rows = this.db
      .prepare(`SELECT path, root, vllm_hash AS vllmHash, rank, prefix, factors, model, graph,
          stale_index AS staleIndexPaths, mtime
        FROM compile_dirs ${where} ORDER BY path`)
      .all(...args) as (Omit<CompileDirRecord, "factors"> & { factors: string | null })[];
    return rows.map((r) => ({ ...r, factors: r.factors ? JSON.parse(r.factors) : null }));
  }

  /** The metadata hashes of the kernels a unit embeds. */
  kernelHashesOf(unitPath: string): string[] {
    const text = this.db.prepare("SELECT kernels FROM units WHERE path = ?").pluck().get(unitPath) as
      | string
      | undefined;
    return text ? (JSON.parse(text) as string[]).sort() : [];
  }

  /** The units that embed a kernel (by its index path: `<container>#<hash>`). */
  unitsOf(kernelPath: string): string[] {
    const at = kernelPath.lastIndexOf("#");
    return this.db
      .prepare(`SELECT path FROM units WHERE container = ?
        AND EXISTS (SELECT 1 FROM json_each(units.kernels) WHERE value = ?) ORDER BY path`)
      .pluck()
      .all(kernelPath.slice(0, at), kernelPath.slice(at + 1)) as string[];
  }
}
