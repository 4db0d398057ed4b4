import { McmError } from "../core/errors.js";
import { SORT_FIELDS, type SortField, type SortSpec } from "../core/filters.js";
import { age, shortHash, size } from "../report/format.js";
import { kernelJson } from "../report/kernel-json.js";
import { safeText } from "../report/safe-text.js";
import { table } from "../report/table.js";
import {
  type FilterOptions,
  freshIndex,
  type GlobalOptions,
  openContext,
  parseFilters,
  reportWarnings,
  scopedRoots,
} from "./context.js";

export interface ListOptions extends FilterOptions {
  sort?: string;
  limit?: string;
  json?: boolean;
}

export function parseSort(text: string | undefined): SortSpec | undefined {
  if (text === undefined) return undefined;
  const [field, dir, extra] = text.split(":");
  if (
    !(SORT_FIELDS as readonly string[]).includes(field as string) ||
    extra !== undefined ||
    (dir && !/^(asc|desc)$/.test(dir))
  ) {
    throw new McmError(`invalid --sort '${text}': use one of ${SORT_FIELDS.join(", ")}, optionally with :desc`);
  }
  return { field: field as SortField, desc: dir === "desc" };
}

export async function run(o: ListOptions, g: GlobalOptions): Promise<number> {
  const filters = parseFilters(o);
  const sort = parseSort(o.sort);
  if (o.limit !== undefined && !/^\d+$/.test(o.limit))
    throw new McmError(`--limit needs a whole number, not '${o.limit}'`);
  const ctx = openContext(g);
  const refreshed = await freshIndex(ctx, filters.cacheDir, filters.mode);
  reportWarnings(refreshed.flatMap((s) => s.warnings));
  scopedRoots(ctx, undefined);
  const rows = ctx.db.queryKernels(filters, sort, o.limit !== undefined ? Number(o.limit) : undefined);
  // no match is an answer, not a failure: one line on stderr, exit 0
  if (rows.length === 0) process.stderr.write("no kernels match\n");
  if (o.json) {
    ctx.json(rows.map(kernelJson));
    return 0;
  }
  if (rows.length === 0) return 0;
  const c = ctx.colors;
  const now = Date.now();
  // kernels inside vLLM artifacts: how many artifacts embed each
  const units = rows.some((k) => k.embedded > 0);
  const head = [
    "HASH",
    "NAME",
    "BACKEND",
    "ARCH",
    "TRITON",
    "WARPS",
    "STAGES",
    "SIZE",
    "MODIFIED",
    "HITS",
    "LAST ACCESS",
  ];
  ctx.out(
    table(
      units ? [...head, "IN UNITS"] : head,
      rows.map((k) => [
        k.staleGroupPaths ? c.yellow(`${shortHash(k.key)}*`) : shortHash(k.key),
        // text from the cache, escaped: a name may hold terminal escapes
        c.bold(safeText(k.name)),
        safeText(k.backend),
        safeText(k.arch),
        safeText(k.tritonVersion ?? "-"),
        k.numWarps ?? "-",
        k.numStages ?? "-",
        size(k.totalSize),
        age(k.modifiedTime, now),
        k.hits,
        age(k.lastAccess, now),
        ...(units ? [k.embedded || "-"] : []),
      ]),
      units ? [5, 6, 7, 9, 11] : [5, 6, 7, 9],
    ),
  );
  const bytes = rows.reduce((s, k) => s + k.totalSize, 0);
  const stale = rows.filter((k) => k.staleGroupPaths).length;
  ctx.out(c.dim(`${rows.length} kernel${rows.length === 1 ? "" : "s"}, ${size(bytes)}`));
  if (stale) {
    ctx.out(
      c.yellow(
        `* ${stale} with stale group paths: the cache was moved or copied, and Triton misses on them until their group files are rewritten`,
      ),
    );
  }
  return 0;
}
