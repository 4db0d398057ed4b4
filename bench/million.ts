// The 1M-kernel case, on the slim cache shape (generate-slim.ts): cold `index`, `list --json`,
// `stats`, `prune --dry-run --json` and `prune --full -y` of 10% of the kernels, each against a
// floor measured in the same run, with its peak RSS and its growth per kernel against the
// smallest size of the section (100k by default: 1.0x is linear). Growth is judged against
// the floor's own growth: a 1M cache outgrows the page cache, which slows every reader of it.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CacheInfo, Templates } from "./generate.js";
import { EVICT_NAME, ensureSlimCache, isEvicted, recreateSlim, slimKey } from "./generate-slim.js";
import { indexFloor, median, type RssRunner, type Timed, timed } from "./measure.js";
import { mb, ms, type Row, ratio } from "./report.js";

export const MILLION_TARGET = {
  rssMb: 400,
  // linear, with room for run-to-run noise: one run of each at 1M is minutes
  growth: 1.1,
};

/** The sizes the section measures, or null when it is not asked for. */
export function millionSizes(benchSizes: number[], env: NodeJS.ProcessEnv): number[] | null {
  const own = env.BENCH_MILLION_SIZES?.trim();
  if (own) {
    return own.split(",").map((s) => {
      const n = Number(s.trim().replace(/_/g, ""));
      if (!Number.isInteger(n) || n < 10) throw new Error(`BENCH_MILLION_SIZES: '${s}' is not a whole number >= 10`);
      return n;
    });
  }
  const big = benchSizes.filter((n) => n >= 1_000_000);
  if (big.length === 0 && env.BENCH_MILLION !== "1") return null;
  return [100_000, ...(big.length ? big : [1_000_000])];
}

// list --json's columns and order (src/db/index.ts), with none of its work per row but JSON.stringify
const ROWS_FLOOR = `
import Database from "better-sqlite3";
import { openSync, writeSync } from "node:fs";
const db = new Database(process.argv[2], { readonly: true });
const out = openSync("/dev/null", "w");
let buf = "";
let n = 0;
for (const r of db.prepare(\`SELECT path, root, container, layout, key, name, backend, arch, warp_size, num_warps,
    num_stages, num_ctas, shared, triton_version, total_size, ir_size, asm_size, file_count, modified_time,
    stale_group, vllm_hash, rank, prefix, warnings, first_seen, hits, misses, last_access, embedded
    FROM kernels ORDER BY name, modified_time DESC, path\`).raw().iterate()) {
  buf += JSON.stringify(r);
  n++;
  if (buf.length > 1 << 16) { writeSync(out, buf); buf = ""; }
}
writeSync(out, buf);
process.stdout.write(String(n));
`;

const COMMANDS = [
  { key: "index", name: "cold index", floor: "find -printf + read every <name>.json" },
  { key: "list", name: "list --json > /dev/null", floor: "node + better-sqlite3: the same rows to /dev/null" },
  { key: "stats", name: "stats", floor: "node + better-sqlite3: every kernel row to /dev/null" },
  { key: "dryRun", name: "prune --dry-run --json (IR-only plan)", floor: "find -printf of the cache" },
  // in place, not in a copy: a copy of 1M kernels takes longer than the whole section
  { key: "full", name: `prune --full -y --name ${EVICT_NAME} (10%)`, floor: "xargs rm -rf of the same folders" },
] as const;
type Key = (typeof COMMANDS)[number]["key"];

interface Measured {
  ms: number[];
  rssKb: number[];
  floorMs: number[];
}

export interface MillionSize {
  cache: CacheInfo;
  commands: Record<Key, Measured>;
  kernelsIndexed: number;
  floorRows: number;
  /** prune --full's "Removed N files in M kernels" line, last run */
  pruneLine: string;
  pruneKernels: number;
  /** kernels indexed after the removed ones were re-created, last run */
  restored: number;
  recreateMs: number[];
}

export interface MillionOptions {
  work: string;
  sizes: number[];
  runs: number;
  templates: () => Templates;
  rss: RssRunner;
  mcm: (args: string[]) => Timed;
  env: NodeJS.ProcessEnv;
  removeDb: (db: string) => void;
  settle: () => void;
  progress: (text: string) => void;
}

function benchOne(o: MillionOptions, n: number): MillionSize {
  o.progress(`[million ${n}] slim cache: ${join(o.work, `triton-slim-${n}`)}`);
  const cache = ensureSlimCache(join(o.work, `triton-slim-${n}`), n, o.templates());
  const root = cache.root;
  const db = join(o.work, `million-${n}.db`);
  const evicted = Array.from({ length: n }, (_, i) => i).filter(isEvicted);
  // set while the 10% are gone: a killed run has the next one re-create them (seconds), not the cache (minutes)
  const pending = `${root}.restore`;
  const recreate = () => {
    const started = performance.now();
    recreateSlim(root, evicted, o.templates());
    rmSync(pending, { force: true });
    return performance.now() - started;
  };
  if (existsSync(pending)) recreate();
  const floor = indexFloor(root, join(o.work, `slim-metadata-${n}.list`));
  if (floor.metaFiles !== n) throw new Error(`expected ${n} metadata files under ${root}, found ${floor.metaFiles}`);
  const evictList = join(o.work, `slim-evict-${n}.list`);
  writeFileSync(evictList, evicted.map((i) => `${slimKey(i)}\0`).join(""));
  const rowsScript = join(o.work, "rows-floor.mjs");
  writeFileSync(rowsScript, ROWS_FLOOR);

  const blank = (): Measured => ({ ms: [], rssKb: [], floorMs: [] });
  const r: MillionSize = {
    cache,
    commands: { index: blank(), list: blank(), stats: blank(), dryRun: blank(), full: blank() },
    kernelsIndexed: 0,
    floorRows: 0,
    pruneLine: "",
    pruneKernels: 0,
    restored: 0,
    recreateMs: [],
  };
  const base = ["--db", db];
  const measure = (key: Key, floorMs: number, args: string[], capture = false) => {
    o.settle();
    const t = o.rss.run([...base, ...args, "--cache-dir", root], o.env, capture);
    const m = r.commands[key];
    m.floorMs.push(floorMs);
    m.ms.push(t.ms);
    m.rssKb.push(t.rssKb);
    o.progress(`[million ${n}] ${key}: ${ms(t.ms)} (floor ${ms(floorMs)}), peak RSS ${mb(t.rssKb)}`);
    return t;
  };
  // puts back what a removal took (untimed), and the index in step with it
  const restore = () => {
    r.recreateMs.push(recreate());
    o.settle();
    const t = o.mcm([...base, "index", "--cache-dir", root]);
    r.restored = Number(/: (\d+) kernels/.exec(t.stdout)?.[1] ?? Number.NaN);
  };

  o.progress(`[million ${n}] warming the page cache`);
  floor.find();
  floor.meta();
  timed("find", [root, "-name", "__grp__*.json", "-exec", "cat", "{}", "+"]);
  for (let i = 0; i < o.runs; i++) {
    const indexFloorMs = floor.find() + floor.meta();
    o.removeDb(db);
    const cold = measure("index", indexFloorMs, ["index"], true);
    r.kernelsIndexed = Number(/: (\d+) kernels/.exec(cold.stdout)?.[1] ?? Number.NaN);

    const rows = timed(process.execPath, [rowsScript, db], { capture: true });
    r.floorRows = Number(rows.stdout);
    measure("list", rows.ms, ["list", "--json"]);
    measure("stats", rows.ms, ["stats"]);
    measure("dryRun", floor.find(), ["prune", "--dry-run", "--json"]);

    o.settle();
    writeFileSync(pending, "");
    const rm = timed("xargs", ["-0", "-a", evictList, "rm", "-rf", "--"], { cwd: root }).ms;
    // rm -f says nothing when the names are wrong
    if (existsSync(join(root, slimKey(evicted[0] ?? 0))))
      throw new Error(`xargs rm -rf left ${slimKey(evicted[0] ?? 0)}`);
    restore();
    writeFileSync(pending, "");
    const full = measure("full", rm, ["prune", "--full", "-y", "--name", EVICT_NAME], true);
    const done = /^Removed (\d+) files? in (\d+) kernels?/m.exec(full.stdout);
    r.pruneLine = done?.[0] ?? full.stdout.trim().split("\n").at(-1) ?? "";
    r.pruneKernels = Number(done?.[2] ?? Number.NaN);
    restore();
  }
  return r;
}

export function benchMillion(o: MillionOptions): MillionSize[] {
  // smallest first: it is the growth base, and its cache is the quicker to make
  return [...o.sizes].sort((a, b) => a - b).map((n) => benchOne(o, n));
}

export function millionRows(results: MillionSize[]): Row[] {
  const base = results[0];
  const top = Math.max(...results.map((r) => r.cache.kernels));
  const rows: Row[] = [];
  for (const r of results) {
    const n = r.cache.kernels;
    // the issue sets the targets at 1M: smaller sizes are the base and for scale
    const judged = n === top && results.length > 1;
    const target = (t: string) => (judged ? t : `(${t} at ${top.toLocaleString("en-US")})`);
    const row = (measurement: string, value: string, extra: Partial<Row> = {}): Row => ({
      size: n,
      measurement,
      value,
      ratio: "",
      target: "",
      pass: null,
      ...extra,
    });
    for (const c of COMMANDS) {
      const m = r.commands[c.key];
      const t = median(m.ms);
      const f = median(m.floorMs);
      const peak = Math.max(...m.rssKb);
      const runs = `median of ${m.ms.length}`;
      rows.push(
        row(`floor for ${c.key}: ${c.floor} (${runs})`, ms(f)),
        row(`${c.name} (${runs}) / floor`, ms(t), { ratio: ratio(t / f) }),
      );
      const b = base?.commands[c.key];
      if (b && base !== r) {
        // per kernel against the base size; the floor's own growth beside it: past the page cache
        // the disk makes every reader of a bigger cache slower per file, the floor as much as mcm
        const perKernel = (x: number[], kernels: number) => median(x) / kernels;
        const growth = perKernel(m.ms, n) / perKernel(b.ms, base.cache.kernels);
        const floorGrowth = perKernel(m.floorMs, n) / perKernel(b.floorMs, base.cache.kernels);
        const vs = `per kernel vs ${base.cache.kernels.toLocaleString("en-US")} (1.0x: linear)`;
        rows.push(
          row(`${c.key}: growth ${vs}`, ratio(growth)),
          row(`${c.key}: its floor's growth ${vs}`, ratio(floorGrowth)),
          row(`${c.key}: growth / its floor's growth`, ratio(growth / floorGrowth), {
            target: target(`<= ${MILLION_TARGET.growth}x`),
            pass: judged ? growth / floorGrowth <= MILLION_TARGET.growth : null,
          }),
        );
      }
      rows.push(
        row(`${c.key}: peak RSS (max of ${m.rssKb.length})`, mb(peak), {
          target: target(`<= ${MILLION_TARGET.rssMb} MB`),
          pass: judged ? peak <= MILLION_TARGET.rssMb * 1024 : null,
        }),
      );
    }
    const evict = r.cache.rareCount;
    const check = (what: string, got: number, want: number) =>
      row(`check: ${what}`, String(got), { target: `= ${want}`, pass: got === want });
    rows.push(
      check("kernels indexed", r.kernelsIndexed, n),
      check("rows the list floor streamed", r.floorRows, n),
      check(`kernels prune --full --name ${EVICT_NAME} removed`, r.pruneKernels, evict),
      check("kernels indexed after re-creating them", r.restored, n),
    );
  }
  return rows;
}

/** Lines under the table: what the prune printed, what re-creating cost. */
export function millionNotes(results: MillionSize[]): string[] {
  return results.map(
    (r) =>
      `million ${r.cache.kernels}: prune --full said '${r.pruneLine}'; re-creating the removed ` +
      `${r.cache.rareCount} kernels took ${ms(median(r.recreateMs))} (untimed, median)`,
  );
}
