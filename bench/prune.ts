// Pruning at 10k kernels, each against the plain tool that deletes the same
// things: `prune --full` against `rm -rf` of the kernel folders, IR-only
// `prune` against `find -delete` of the IR files.
//
// Both are destructive: every run gets its own real copy (`cp -a`, not hard
// links) of the generated cache, made outside the timed region. Before a timed
// mcm run the copy is indexed (untimed) into a fresh database, so that the time
// is the prune's own; the baseline copy gets an untimed stat walk instead.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CacheInfo } from "./generate.js";
import { median, type Timed, timed } from "./measure.js";
import { ms, type Row, ratioRow } from "./report.js";

/** The files IR-only prune removes (and the baseline's `find -name` patterns). */
export const IR_EXTS = [".source", ".ttir", ".ttgir", ".llir"];

export const PRUNE_TARGET = 1.5;

interface Folder {
  name: string;
  files: string[];
}

/** What the source cache holds: kernel folders (those with a __grp__ file) and the rest. */
interface Layout {
  kernels: Folder[];
  others: Folder[];
  irFiles: number;
  files: number;
}

export interface PruneCheck {
  ok: boolean;
  /** what was wrong, when not ok */
  problem: string | null;
}

export interface PruneResult {
  kernels: number;
  copy: string;
  others: number;
  irFiles: number;
  rmMs: number[];
  fullMs: number[];
  /** prune --full --grace 0: the same work without the one wait */
  fullNoGraceMs: number[];
  findMs: number[];
  irMs: number[];
  /** untimed index of each mcm copy before its prune */
  preIndexMs: number[];
  /** copy + settle time per run, for the record */
  copyMs: number[];
  fullCheck: PruneCheck;
  irCheck: PruneCheck;
  /** "Removed N files in M kernels" lines of the mcm runs */
  mcmOutputs: string[];
}

export interface PruneOptions {
  source: CacheInfo;
  /** the scratch copy: removed and remade for every run */
  copy: string;
  db: string;
  rounds: number;
  /** runs `node bin/mcm ...args` and times it (throws on a non-zero exit) */
  mcm: (args: string[]) => Timed;
  removeDb: (db: string) => void;
  settle: () => void;
  progress: (text: string) => void;
}

const isIr = (file: string) => IR_EXTS.some((e) => file.endsWith(e));

function readLayout(root: string): Layout {
  const out: Layout = { kernels: [], others: [], irFiles: 0, files: 0 };
  for (const name of readdirSync(root).sort()) {
    const files = readdirSync(join(root, name)).sort();
    const folder = { name, files };
    out.files += files.length;
    if (files.some((f) => f.startsWith("__grp__") && f.endsWith(".json"))) {
      out.kernels.push(folder);
      out.irFiles += files.filter(isIr).length;
    } else {
      out.others.push(folder);
    }
  }
  return out;
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function fail(problem: string): PruneCheck {
  return { ok: false, problem };
}

/** After a full prune: no kernel folder, every other folder whole, nothing else. */
function checkFull(root: string, src: Layout): PruneCheck {
  const now = readdirSync(root).sort();
  const want = src.others.map((f) => f.name);
  if (!sameList(now, want)) {
    const extra = now.filter((n) => !want.includes(n));
    const missing = want.filter((n) => !now.includes(n));
    return fail(
      `${extra.length} unexpected entries left (e.g. ${extra.slice(0, 3).join(", ") || "-"}), ` +
        `${missing.length} non-kernel folders gone (e.g. ${missing.slice(0, 3).join(", ") || "-"})`,
    );
  }
  for (const f of src.others) {
    if (!sameList(readdirSync(join(root, f.name)).sort(), f.files)) return fail(`non-kernel folder ${f.name} changed`);
  }
  return { ok: true, problem: null };
}

/** After an IR-only prune: every folder still there; kernel folders lost exactly their IR files. */
function checkIrOnly(root: string, src: Layout): PruneCheck {
  const now = readdirSync(root).sort();
  const want = [...src.kernels, ...src.others].map((f) => f.name).sort();
  if (!sameList(now, want)) return fail(`folders differ: ${now.length} entries, expected ${want.length}`);
  for (const k of src.kernels) {
    const files = readdirSync(join(root, k.name)).sort();
    const ir = files.filter(isIr);
    if (ir.length) return fail(`${k.name} still has ${ir.join(", ")}`);
    const grp = k.files.find((f) => f.startsWith("__grp__")) as string;
    const name = grp.slice("__grp__".length, -".json".length);
    for (const needed of [grp, `${name}.json`, `${name}.cubin`, `${name}.ptx`]) {
      if (!files.includes(needed)) return fail(`${k.name} lost ${needed}`);
    }
    if (
      !sameList(
        files,
        k.files.filter((f) => !isIr(f)),
      )
    )
      return fail(`${k.name} holds ${files.join(", ")}`);
  }
  for (const f of src.others) {
    if (!sameList(readdirSync(join(root, f.name)).sort(), f.files)) return fail(`non-kernel folder ${f.name} changed`);
  }
  return { ok: true, problem: null };
}

/** rm -rf of a whole copy, untimed; `rm` is much faster than fs.rmSync here. */
function removeTree(path: string): void {
  if (!existsSync(path)) return;
  const r = spawnSync("rm", ["-rf", "--", path], { stdio: "ignore" });
  if (r.status !== 0 || existsSync(path)) rmSync(path, { recursive: true, force: true });
}

/** A fresh real copy of the source at `copy`, written out and settled. */
function freshCopy(o: PruneOptions): number {
  const started = performance.now();
  removeTree(o.copy);
  o.settle(); // the old copy's deletes (and discards) go out before the new copy's writes
  timed("cp", ["-a", "--", o.source.root, o.copy]);
  o.settle();
  return performance.now() - started;
}

export function benchPrune(o: PruneOptions): PruneResult {
  const n = o.source.kernels;
  const src = readLayout(o.source.root);
  if (src.kernels.length !== n)
    throw new Error(`expected ${n} kernel folders in ${o.source.root}, found ${src.kernels.length}`);
  const kernelDirs = src.kernels.map((f) => f.name);
  const r: PruneResult = {
    kernels: n,
    copy: o.copy,
    others: src.others.length,
    irFiles: src.irFiles,
    rmMs: [],
    fullMs: [],
    fullNoGraceMs: [],
    findMs: [],
    irMs: [],
    preIndexMs: [],
    copyMs: [],
    fullCheck: { ok: true, problem: null },
    irCheck: { ok: true, problem: null },
    mcmOutputs: [],
  };
  const note = (check: PruneCheck, which: "fullCheck" | "irCheck", what: string) => {
    if (!check.ok && r[which].ok) r[which] = { ok: false, problem: `${what}: ${check.problem}` };
    if (!check.ok) o.progress(`[prune] CHECK FAILED after ${what}: ${check.problem}`);
  };
  const walk = () => timed("find", [o.copy, "-printf", "%s %T@\\n"]);

  // kernel folders relative to the copy: one `rm` process, as short a command line as it gets
  const rmRun = () => {
    r.copyMs.push(freshCopy(o));
    walk();
    o.settle();
    const t = timed("rm", ["-rf", "--", ...kernelDirs], { cwd: o.copy }).ms;
    r.rmMs.push(t);
    note(checkFull(o.copy, src), "fullCheck", "rm -rf");
    return t;
  };
  const findRun = () => {
    r.copyMs.push(freshCopy(o));
    walk();
    o.settle();
    const names = IR_EXTS.flatMap((e, i) => [...(i ? ["-o"] : []), "-name", `*${e}`]);
    const t = timed("find", [o.copy, "-type", "f", "(", ...names, ")", "-delete"]).ms;
    r.findMs.push(t);
    note(checkIrOnly(o.copy, src), "irCheck", "find -delete");
    return t;
  };
  const mcmRun = (full: boolean, grace: string[] = []) => {
    r.copyMs.push(freshCopy(o));
    o.removeDb(o.db);
    const pre = o.mcm(["--db", o.db, "index", "--cache-dir", o.copy]);
    if (!new RegExp(`: ${n} kernels`).test(pre.stdout)) throw new Error(`pre-index of the copy: ${pre.stdout}`);
    r.preIndexMs.push(pre.ms);
    o.settle();
    const args = ["--db", o.db, "prune", ...(full ? ["--full"] : []), ...grace, "-y", "--cache-dir", o.copy];
    const t = o.mcm(args);
    const done = /^Removed (\d+) files? in (\d+) kernels?/m.exec(t.stdout);
    r.mcmOutputs.push(done?.[0] ?? t.stdout.trim().split("\n").at(-1) ?? "");
    const wantFiles = full ? src.files - src.others.reduce((s, f) => s + f.files.length, 0) : src.irFiles;
    const counted: PruneCheck =
      done && Number(done[1]) === wantFiles && Number(done[2]) === n
        ? { ok: true, problem: null }
        : fail(`mcm said '${done?.[0] ?? t.stdout.trim()}', expected ${wantFiles} files in ${n} kernels`);
    const which = full ? "fullCheck" : "irCheck";
    const what = full ? "prune --full" : "prune (IR-only)";
    note(counted, which, what);
    note(full ? checkFull(o.copy, src) : checkIrOnly(o.copy, src), which, what);
    (full ? (grace.length ? r.fullNoGraceMs : r.fullMs) : r.irMs).push(t.ms);
    return t.ms;
  };

  try {
    for (let i = 0; i < o.rounds; i++) {
      // baseline and mcm alternate, and which goes first flips every round, so drift hits both alike
      const pair = <T>(a: () => T, b: () => T): [T, T] => {
        if (i % 2 === 0) {
          const x = a();
          return [x, b()];
        }
        const y = b();
        return [a(), y];
      };
      const [rm, full] = pair(rmRun, () => mcmRun(true));
      const noGrace = mcmRun(true, ["--grace", "0"]);
      o.progress(
        `[prune] round ${i + 1}/${o.rounds}: rm -rf ${ms(rm)}, prune --full ${ms(full)} (--grace 0: ${ms(noGrace)})`,
      );
      const [find, ir] = pair(findRun, () => mcmRun(false));
      o.progress(`[prune] round ${i + 1}/${o.rounds}: find -delete ${ms(find)}, prune IR-only ${ms(ir)}`);
    }
  } finally {
    removeTree(o.copy);
    o.removeDb(o.db);
  }
  return r;
}

export function pruneRows(r: PruneResult): Row[] {
  const n = r.kernels;
  const rm = median(r.rmMs);
  const full = median(r.fullMs);
  const noGrace = median(r.fullNoGraceMs);
  const find = median(r.findMs);
  const ir = median(r.irMs);
  return [
    {
      size: n,
      measurement: `baseline: rm -rf <${n} kernel folders> (median of ${r.rmMs.length})`,
      value: ms(rm),
      ratio: "",
      target: "",
      pass: null,
    },
    ratioRow(n, `prune --full --grace 0 (median of ${r.fullNoGraceMs.length}) / rm -rf`, noGrace, rm, PRUNE_TARGET),
    {
      size: n,
      measurement: `prune --full, default 2 s grace (median of ${r.fullMs.length}) / rm -rf`,
      value: ms(full),
      ratio: (full / rm).toFixed(2),
      target: "",
      pass: null,
    },
    {
      size: n,
      measurement: `what the grace costs: prune --full - prune --full --grace 0 (one wait per run, for all ${n} kernels)`,
      value: ms(full - noGrace),
      ratio: "",
      target: "",
      pass: null,
    },
    {
      size: n,
      measurement: `baseline: find -delete <${r.irFiles} IR files> (median of ${r.findMs.length})`,
      value: ms(find),
      ratio: "",
      target: "",
      pass: null,
    },
    ratioRow(n, `prune IR-only (median of ${r.irMs.length}) / find -delete`, ir, find, PRUNE_TARGET),
    {
      size: n,
      measurement: `check: after prune --full, kernel folders left (${r.others} others kept)`,
      value: r.fullCheck.ok ? "0" : "wrong",
      ratio: "",
      target: "= 0",
      pass: r.fullCheck.ok,
    },
    {
      size: n,
      measurement: "check: after prune IR-only, IR files left (json, __grp__, cubin, ptx kept)",
      value: r.irCheck.ok ? "0" : "wrong",
      ratio: "",
      target: "= 0",
      pass: r.irCheck.ok,
    },
  ];
}

/** Lines printed under the table: every run, and what the prune time includes. */
export function pruneNotes(r: PruneResult): string[] {
  const runs = (xs: number[]) => xs.map(ms).join(", ");
  const lines = [
    `prune runs (${r.kernels} kernels, a fresh cp -a copy each at ${r.copy}, alternating with the baseline):`,
    `  rm -rf: ${runs(r.rmMs)} | prune --full: ${runs(r.fullMs)}`,
    `  find -delete: ${runs(r.findMs)} | prune IR-only: ${runs(r.irMs)}`,
    `  untimed index of each mcm copy beforehand: ${runs(r.preIndexMs)}; copy + settle per run: median ${ms(median(r.copyMs))}`,
    "  mcm prune still refreshes the index before planning and re-indexes after applying: both are in its time",
  ];
  for (const c of [r.fullCheck, r.irCheck]) if (!c.ok) lines.push(`  check failed: ${c.problem}`);
  return lines;
}
