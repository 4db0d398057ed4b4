import { McmError, NothingMatched } from "../core/errors.js";
import { jsonTooDeep } from "../core/json-depth.js";
import { UnitStore } from "../db/units.js";
import { age, iso, plural, size } from "../report/format.js";
import { kernelJson } from "../report/kernel-json.js";
import { safeLines, safeText as t } from "../report/safe-text.js";
import { table } from "../report/table.js";
import { freshIndex, type GlobalOptions, openContext, parseFilters } from "./context.js";

export async function run(prefix: string, o: { json?: boolean; cacheDir?: string }, g: GlobalOptions): Promise<number> {
  if (!prefix.trim()) throw new McmError("give a kernel hash or a prefix of one");
  const { cacheDir } = parseFilters({ cacheDir: o.cacheDir });
  const ctx = openContext(g);
  await freshIndex(ctx, cacheDir);
  const found = ctx.db
    .kernelsByPrefix(prefix.trim())
    .filter((k) => !cacheDir || k.root === cacheDir || k.path.startsWith(`${cacheDir}/`));
  if (found.length === 0) throw new NothingMatched(`no kernel hash starts with '${prefix}'`);
  if (found.length > 1) {
    const how = found.every((k) => k.key === found[0]?.key) ? "pick one with --cache-dir" : "give more of the hash";
    process.stderr.write(`mcm: '${prefix}' matches ${found.length} kernels; ${how}:\n`);
    for (const k of found) process.stderr.write(`  ${t(k.key)}  ${t(k.name)}  ${t(k.path)}\n`);
    return 2;
  }
  const k = found[0] as (typeof found)[number];
  const { files, metadata } = ctx.db.kernelBlob(k.path);
  let meta: unknown = null;
  try {
    // an older index may hold metadata nested too deep to print: shown as its text
    meta = metadata === null ? null : jsonTooDeep(metadata) ? metadata : JSON.parse(metadata);
  } catch {
    meta = metadata; // malformed on disk: shown as the text it is
  }
  const units = k.embedded > 0 ? new UnitStore(ctx.db).unitsOf(k.path) : [];
  if (o.json) {
    const h = ctx.db.lookupHistory(k.container, k.key);
    ctx.json({
      ...kernelJson(k),
      ...(k.embedded > 0 ? { units } : {}),
      firstAccess: iso(h?.firstAccess ?? null),
      files,
      warnings: k.warnings,
      metadata: meta,
    });
    return 0;
  }
  const c = ctx.colors;
  // every value below may come from the cache: escaped, so that no terminal escape reaches the terminal
  const field = (label: string, value: unknown, style = (x: string) => x) =>
    ctx.out(`${c.dim(label.padEnd(16))}${style(t(String(value ?? "-")))}`);
  ctx.out(c.bold(t(`${k.name}  ${k.key}`)));
  field("path", k.path);
  field("cache dir", `${k.root} (${k.layout})`);
  if (k.layout === "vllm") field("vllm", `hash ${k.vllmHash}, ${k.rank}${k.prefix ? `, ${k.prefix}` : ""}`);
  field("backend", k.backend);
  field("arch", k.arch);
  field("warp size", k.warpSize);
  field("warps/stages", `${k.numWarps ?? "-"} / ${k.numStages ?? "-"} (ctas ${k.numCtas ?? "-"})`);
  field("shared memory", k.shared === null ? null : size(k.shared));
  field("triton", k.tritonVersion);
  field(
    "size",
    `${size(k.totalSize)} in ${plural(k.fileCount, "file")} (IR ${size(k.irSize)}, assembly ${size(k.asmSize)})`,
  );
  field("modified", `${iso(k.modifiedTime)} (${age(k.modifiedTime)})`);
  const h = ctx.db.lookupHistory(k.container, k.key);
  const ratio = h && h.hits + h.misses ? ` (${((100 * h.hits) / (h.hits + h.misses)).toFixed(0)}% hits)` : "";
  field(
    "lookups",
    `${k.hits} hits, ${k.misses} misses${ratio}; first ${age(h?.firstAccess ?? null)}, last ${age(k.lastAccess)}`,
  );
  if (units.length) {
    field(
      "embedded in",
      `${units.length} compile unit${units.length === 1 ? "" : "s"} (read-only: mcm never rewrites them)`,
    );
    for (const u of units) ctx.out(`${"".padEnd(16)}${t(u)}`);
  } else
    field(
      "group paths",
      k.staleGroupPaths
        ? "stale: they point at the cache's old location; Triton misses until they are rewritten"
        : "current",
      k.staleGroupPaths ? c.yellow : undefined,
    );
  for (const w of k.warnings) ctx.out(c.yellow(t(`warning: ${w.path}: ${w.message}`)));
  ctx.out("");
  ctx.out(
    table(
      ["FILE", "KIND", "SIZE"],
      files.map((f) => [t(f.name), t(f.kind), size(f.size)]),
      [2],
    ),
  );
  ctx.out("");
  ctx.out(c.dim("metadata:"));
  // JSON escapes C0 controls in strings, not DEL, C1 or U+2028: each line escaped, its breaks kept
  ctx.out(safeLines(typeof meta === "string" ? meta : JSON.stringify(meta, null, 2)));
  return 0;
}
