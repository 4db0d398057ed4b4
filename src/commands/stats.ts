import { tmpdir } from "node:os";
import { summarizeUnits } from "../core/compile-units.js";
import type { KernelFilters } from "../core/filters.js";
import { UnitStore } from "../db/units.js";
import { leftovers } from "../leftovers.js";
import { plural, size } from "../report/format.js";
import { safeText } from "../report/safe-text.js";
import { table } from "../report/table.js";
import { type GlobalOptions, indexedRoots, openContext, parseFilters } from "./context.js";

export async function run(o: { cacheDir?: string; json?: boolean }, g: GlobalOptions): Promise<number> {
  const filters: KernelFilters = parseFilters({ cacheDir: o.cacheDir });
  const ctx = openContext(g);
  const roots = await indexedRoots(ctx, filters);

  const t = ctx.db.kernelTotals(filters);
  // what IR-only pruning can free: kernel folders on disk (never what an artifact embeds)
  const disk = ctx.db.kernelTotals({ ...filters, onDisk: true });
  const store = new UnitStore(ctx.db);
  const dirs = store.compileDirs(filters.cacheDir);
  const models = (h: string) => {
    const found = new Set(dirs.filter((d) => d.vllmHash === h && d.model).map((d) => d.model as string));
    return found.size === 1 ? ([...found][0] as string) : null;
  };
  const compileUnits = summarizeUnits(store.units(filters.cacheDir), models);
  const others = ctx.db.otherGroups(filters.cacheDir);
  const warnings = roots.flatMap((r) => ctx.db.warnings(r.path));
  // what killed mcm runs left: trash, staging folders, downloads (removed by the next prune, import or pull)
  const left = [...roots.map((r) => r.path), tmpdir()].flatMap((d) => leftovers(d));
  const lookups = t.hits + t.misses;
  const report = {
    roots: roots.map((r) => ({
      path: r.path,
      mode: r.layout,
      kernels: ctx.db.kernelTotals({ cacheDir: r.path }).kernels,
      indexedAt: new Date(r.indexedAt).toISOString(),
    })),
    kernels: t.kernels,
    files: t.files,
    bytes: t.bytes,
    byBackend: ctx.db.kernelGroups(filters, "backend"),
    byArch: ctx.db.kernelGroups(filters, "arch"),
    byTritonVersion: ctx.db.kernelGroups(filters, "triton_version"),
    topNames: ctx.db.kernelGroups(filters, "name", 10),
    nonKernel: others,
    nonKernelBytes: others.reduce((s, x) => s + x.bytes, 0),
    compileUnits,
    reclaimable: {
      irOnly: disk.irBytes,
      irAndAssembly: disk.irBytes + disk.asmBytes,
      byLinkingIdentical: compileUnits.reduce((n, u) => n + u.duplicateBytes, 0),
    },
    staleGroupPaths: t.staleGroup,
    // vLLM compile folders whose vllm_compile_cache.py lists the artifacts at another path
    staleVllmIndexFiles: dirs.filter((d) => d.staleIndexPaths > 0).length,
    hits: t.hits,
    misses: t.misses,
    hitRatio: lookups ? t.hits / lookups : null,
    // a kernel that keeps missing is being recompiled
    topMisses: ctx.db.topMisses(roots.flatMap((r) => Object.keys(r.digests))),
    warningCount: warnings.length,
    warnings,
    leftovers: left,
  };
  if (o.json) {
    ctx.json(report);
    return 0;
  }
  const c = ctx.colors;
  const h = (s: string) => ctx.out(`\n${c.bold(s)}`);
  const groups = (head: string, rows: { key: string; kernels: number; bytes: number }[]) =>
    table(
      [head, "KERNELS", "SIZE"],
      rows.map((r) => [safeText(r.key), r.kernels, size(r.bytes)]),
      [1, 2],
    );

  for (const r of report.roots) ctx.out(`${c.dim("cache dir")}  ${r.path} (${r.mode}, ${plural(r.kernels, "kernel")})`);
  h("Kernels");
  ctx.out(`${plural(t.kernels, "kernel")}, ${plural(t.files, "file")}, ${size(t.bytes)}`);
  ctx.out(
    `hits ${t.hits}, misses ${t.misses}${report.hitRatio === null ? "" : `, hit ratio ${(report.hitRatio * 100).toFixed(1)}%`}`,
  );
  if (report.topMisses.length) {
    h("Most missed (recompiled) names");
    ctx.out(
      table(
        ["NAME", "MISSES", "HITS"],
        report.topMisses.map((m) => [safeText(m.name ?? ""), m.misses, m.hits]),
        [1, 2],
      ),
    );
  }
  h("By backend");
  ctx.out(groups("BACKEND", report.byBackend));
  h("By arch");
  ctx.out(groups("ARCH", report.byArch));
  h("By Triton version");
  ctx.out(groups("TRITON", report.byTritonVersion));
  h("Top names");
  ctx.out(groups("NAME", report.topNames));
  if (compileUnits.length) {
    h("vLLM compile units (read whole; the kernels above are inside them)");
    ctx.out(
      table(
        ["HASH", "MODEL", "FORMAT", "RANKS", "PREFIXES", "RANGES", "UNITS", "SIZE", "IDENTICAL"],
        compileUnits.map((u) => [
          u.vllmHash,
          u.model ?? "-",
          u.formats.join(","),
          u.ranks.join(",") || "-",
          u.prefixes.join(",") || "-",
          u.ranges.join(",") || "-",
          u.units,
          size(u.bytes),
          size(u.duplicateBytes),
        ]),
        [6, 7, 8],
      ),
    );
  }
  h("Not kernels");
  ctx.out(
    others.length
      ? table(
          ["KIND", "ENTRIES", "FILES", "SIZE"],
          others.map((x) => [x.kind, x.entries, x.files, size(x.bytes)]),
          [1, 2, 3],
        )
      : "none",
  );
  h("Reclaimable");
  ctx.out(
    `IR-only prune: ${size(disk.irBytes)}; with assembly: ${size(disk.irBytes + disk.asmBytes)}` +
      (report.reclaimable.byLinkingIdentical
        ? `; hard-linking identical compile units (prune --deduplicate --link): ${size(report.reclaimable.byLinkingIdentical)}`
        : ""),
  );
  h("Health");
  ctx.out(
    t.staleGroup
      ? c.yellow(
          `${t.staleGroup} kernels have stale group paths (moved or copied cache): Triton misses on them until their group files are rewritten`,
        )
      : "group paths: all current",
  );
  if (report.staleVllmIndexFiles) {
    ctx.out(
      c.yellow(
        `vLLM compile folders whose vllm_compile_cache.py lists the artifacts at another path (a moved cache): ${report.staleVllmIndexFiles}; vLLM fails to start, or loads the old copy, until \`mcm relocate\` points them here`,
      ),
    );
  }
  if (left.length) {
    ctx.out(
      c.yellow(
        `left by killed mcm runs: ${left.length} (${left.map((l) => safeText(l.path)).join(", ")}); the next prune, import or pull removes them`,
      ),
    );
  }
  ctx.out(`${warnings.length} warnings${warnings.length ? " (run `mcm index -v` to see them)" : ""}`);
  return 0;
}
