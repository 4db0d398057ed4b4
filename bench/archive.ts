// Export and import at 10k kernels against the plain tools that move the same
// folder: `mcm export` against `tar czf`, `mcm import` (extract, verify every
// sha256, point the group files at the destination, index) against `tar xzf`.
// Each import goes into a fresh folder, removed (untimed) before the next run.
import { mkdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { CacheInfo } from "./generate.js";
import { median, type Timed, timed } from "./measure.js";
import { ms, type Row, ratio, ratioRow } from "./report.js";

export const ARCHIVE_TARGET = 1.5;

export interface ArchiveOptions {
  source: CacheInfo;
  /** where archives and extracted copies go */
  dir: string;
  db: string;
  rounds: number;
  mcm: (args: string[]) => Timed;
  removeDb: (db: string) => void;
  settle: () => void;
  progress: (text: string) => void;
}

export interface ArchiveResult {
  kernels: number;
  exportMs: number[];
  tarCzfMs: number[];
  importMs: number[];
  tarXzfMs: number[];
  mcmBytes: number;
  tarBytes: number;
  /** the same sha256 from every export run */
  deterministic: boolean;
  /** kernels the import indexed, and how many still had stale group paths */
  imported: { kernels: number; stale: number } | null;
}

export function benchArchive(o: ArchiveOptions): ArchiveResult {
  const src = o.source.root;
  mkdirSync(o.dir, { recursive: true });
  const mcmTgz = join(o.dir, "mcm-export.tgz");
  const tarTgz = join(o.dir, "tar-czf.tgz");
  const dest = join(o.dir, "mcm-import-dest");
  const tarDest = join(o.dir, "tar-xzf-dest");
  const r: ArchiveResult = {
    kernels: o.source.kernels,
    exportMs: [],
    tarCzfMs: [],
    importMs: [],
    tarXzfMs: [],
    mcmBytes: 0,
    tarBytes: 0,
    deterministic: true,
    imported: null,
  };
  const digests = new Set<string>();
  const clean = () => {
    for (const p of [dest, tarDest]) rmSync(p, { recursive: true, force: true });
  };
  // warm the page cache: both read the same files
  timed("find", [src, "-type", "f", "-exec", "cat", "{}", "+"]);
  try {
    for (let i = 0; i < o.rounds; i++) {
      const exportRun = () => {
        o.settle();
        const t = o.mcm(["--db", o.db, "export", "--cache-dir", src, "-o", mcmTgz, "--json"]);
        digests.add((JSON.parse(t.stdout) as { sha256: string }).sha256);
        r.exportMs.push(t.ms);
      };
      const czfRun = () => {
        o.settle();
        r.tarCzfMs.push(timed("tar", ["czf", tarTgz, "-C", dirname(src), basename(src)]).ms);
      };
      const importRun = () => {
        clean();
        o.removeDb(o.db);
        o.settle();
        const t = o.mcm(["--db", o.db, "import", mcmTgz, "--cache-dir", dest, "--json"]);
        const j = JSON.parse(t.stdout) as { indexed: { kernels: number; staleGroupPaths: number } };
        r.imported = { kernels: j.indexed.kernels, stale: j.indexed.staleGroupPaths };
        r.importMs.push(t.ms);
      };
      const xzfRun = () => {
        clean();
        mkdirSync(tarDest);
        o.settle();
        r.tarXzfMs.push(timed("tar", ["xzf", tarTgz, "-C", tarDest]).ms);
      };
      // which goes first flips every round, so drift hits both alike
      const steps = i % 2 === 0 ? [exportRun, czfRun, importRun, xzfRun] : [czfRun, exportRun, xzfRun, importRun];
      for (const step of steps) step();
      o.progress(
        `[archive] round ${i + 1}/${o.rounds}: export ${ms(r.exportMs.at(-1) ?? 0)} vs tar czf ${ms(r.tarCzfMs.at(-1) ?? 0)}, ` +
          `import ${ms(r.importMs.at(-1) ?? 0)} vs tar xzf ${ms(r.tarXzfMs.at(-1) ?? 0)}`,
      );
    }
    r.mcmBytes = statSync(mcmTgz).size;
    r.tarBytes = statSync(tarTgz).size;
    r.deterministic = digests.size === 1;
  } finally {
    clean();
    for (const p of [mcmTgz, tarTgz]) rmSync(p, { force: true });
    o.removeDb(o.db);
  }
  return r;
}

export function archiveRows(r: ArchiveResult): Row[] {
  const n = r.kernels;
  const exp = median(r.exportMs);
  const czf = median(r.tarCzfMs);
  const imp = median(r.importMs);
  const xzf = median(r.tarXzfMs);
  const runs = r.exportMs.length;
  return [
    { size: n, measurement: "tar czf of the cache folder", value: ms(czf), ratio: "", target: "", pass: null },
    ratioRow(n, `mcm export (median of ${runs}) / tar czf`, exp, czf, ARCHIVE_TARGET),
    { size: n, measurement: "tar xzf of that archive", value: ms(xzf), ratio: "", target: "", pass: null },
    ratioRow(n, `mcm import + index (median of ${runs}) / tar xzf`, imp, xzf, ARCHIVE_TARGET),
    {
      size: n,
      measurement: "archive size: mcm export / tar czf",
      value: `${(r.mcmBytes / 2 ** 20).toFixed(0)} MiB`,
      ratio: ratio(r.mcmBytes / r.tarBytes),
      target: "",
      pass: null,
    },
    {
      size: n,
      measurement: "check: every export gave the same sha256",
      value: String(r.deterministic),
      ratio: "",
      target: "= true",
      pass: r.deterministic,
    },
    {
      size: n,
      measurement: "check: kernels imported, stale group paths",
      value: r.imported ? `${r.imported.kernels}, ${r.imported.stale}` : "none",
      ratio: "",
      target: `= ${n}, 0`,
      pass: r.imported?.kernels === n && r.imported.stale === 0,
    },
  ];
}
