// Commands over a whole cache at each size: `list --json` of every kernel and
// the prune plans (`--dry-run --json`, IR-only and --full), time and peak RSS,
// each also against the same command at the smallest size (growth).
import { median, type RssRunner } from "./measure.js";
import { mb, ms, type Row, ratio } from "./report.js";

export const WHOLE_TARGET = { listJsonMs: 1000, listJsonMb: 150, pruneMs: 2000, pruneMb: 250, rssMb: 300 };

const COMMANDS = [
  {
    name: "list --json (every kernel)",
    args: ["list", "--json"],
    ms: WHOLE_TARGET.listJsonMs,
    mb: WHOLE_TARGET.listJsonMb,
  },
  {
    name: "prune --dry-run --json (IR-only)",
    args: ["prune", "--dry-run", "--json"],
    ms: WHOLE_TARGET.pruneMs,
    mb: WHOLE_TARGET.pruneMb,
  },
  {
    name: "prune --full --dry-run --json",
    args: ["prune", "--full", "--dry-run", "--json"],
    ms: WHOLE_TARGET.pruneMs,
    mb: WHOLE_TARGET.pruneMb,
  },
] as const;

export interface WholeResult {
  kernels: number;
  commands: { name: string; ms: number[]; rssKb: number[] }[];
}

/** Runs each command `runs` times on the cache indexed in `db` (the index is fresh: no rescan is timed apart). */
export function benchWhole(
  kernels: number,
  root: string,
  db: string,
  runs: number,
  rss: RssRunner,
  env: NodeJS.ProcessEnv,
): WholeResult {
  const out: WholeResult = { kernels, commands: [] };
  for (const c of COMMANDS) {
    const r = { name: c.name, ms: [] as number[], rssKb: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const t = rss.run(["--db", db, ...c.args, "--cache-dir", root], env, false);
      r.ms.push(t.ms);
      r.rssKb.push(t.rssKb);
    }
    out.commands.push(r);
  }
  return out;
}

export function wholeRows(results: WholeResult[], targetedFrom: number): Row[] {
  const base = results[0];
  const rows: Row[] = [];
  for (const r of results) {
    const targeted = r.kernels >= targetedFrom;
    const judge = (ok: boolean) => (targeted ? ok : null);
    r.commands.forEach((c, i) => {
      const spec = COMMANDS[i] as (typeof COMMANDS)[number];
      const t = median(c.ms);
      const peak = Math.max(...c.rssKb);
      const b = base?.commands[i];
      // per kernel against the smallest size: 1.0x is linear
      const growth = b && base !== r ? t / r.kernels / (median(b.ms) / base.kernels) : null;
      rows.push(
        {
          size: r.kernels,
          measurement: `${c.name} (median of ${c.ms.length})`,
          value: ms(t),
          ratio: growth === null ? "" : `${ratio(growth)} per kernel vs ${base?.kernels}`,
          target: targeted ? `<= ${spec.ms} ms` : `(<= ${spec.ms} ms at 100k)`,
          pass: judge(t <= spec.ms),
        },
        {
          size: r.kernels,
          measurement: `${c.name}: peak RSS`,
          value: mb(peak),
          ratio: "",
          target: targeted ? `<= ${spec.mb} MB` : `(<= ${spec.mb} MB at 100k)`,
          pass: judge(peak <= spec.mb * 1024),
        },
      );
    });
  }
  return rows;
}
