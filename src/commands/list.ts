import { McmError } from "../core/errors.js";
import { SORT_FIELDS, type SortField, type SortSpec } from "../core/filters.js";
import type { KernelRow } from "../core/types.js";
import { age, shortHash, size } from "../report/format.js";
import { safeText } from "../report/safe-text.js";
import { writeJsonElements } from "../report/stream.js";
import { streamTable } from "../report/table.js";
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
  /** parsed at the edge (cli.ts) */
  limit?: number;
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
  const ctx = openContext(g);
  const refreshed = await freshIndex(ctx, filters.cacheDir, filters.mode);
  reportWarnings(refreshed.flatMap((s) => s.warnings));
  scopedRoots(ctx, undefined);
  const limit = o.limit;
  const rows = () => ctx.db.iterateKernels(filters, sort, limit);
  const write = (text: string) => process.stdout.write(text);
  // no match is an answer, not a failure: one line on stderr, exit 0
  const noMatch = () => process.stderr.write("no kernels match\n");
  if (o.json) {
    // each element written by SQLite (report/kernel-json.ts's fields), streamed
    if (writeJsonElements(ctx.db.iterateKernelJson(filters, sort, limit), write) === 0) noMatch();
    return 0;
  }
  // the totals come from SQL: the rows themselves stream, one at a time
  const totals = ctx.db.listingTotals(filters, sort, limit);
  if (totals.kernels === 0) {
    noMatch();
    return 0;
  }
  const c = ctx.colors;
  const now = Date.now();
  // kernels inside vLLM artifacts: how many artifacts embed each
  const units = totals.inUnits > 0;
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
  const cells = (k: KernelRow) => [
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
  ];
  streamTable(
    units ? [...head, "IN UNITS"] : head,
    () => map(rows(), cells),
    units ? [5, 6, 7, 9, 11] : [5, 6, 7, 9],
    write,
  );
  const stale = totals.stale;
  ctx.out(c.dim(`${totals.kernels} kernel${totals.kernels === 1 ? "" : "s"}, ${size(totals.bytes)}`));
  if (stale) {
    ctx.out(
      c.yellow(
        `* ${stale} with stale group paths: the cache was moved or copied, and Triton misses on them until their group files are rewritten`,
      ),
    );
  }
  return 0;
}

function* map<T, U>(items: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const t of items) yield f(t);
}
