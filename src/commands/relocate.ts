import { UnitStore } from "../db/units.js";
import { verbosity } from "../log.js";
import {
  applyRelocate,
  describeUnrewritten,
  planInductorEntries,
  planRelocate,
  planVllmIndex,
  type RelocatePlan,
  type UnrewrittenRoot,
  unrewrittenRoots,
} from "../pack/relocate.js";
import { lockRoot } from "../prune/lock.js";
import { confirm, requireConfirmable } from "../report/confirm.js";
import { plural } from "../report/format.js";
import { resolveCacheDir } from "../scan/cache-dir.js";
import { indexRoot } from "../scan/indexer.js";
import { type GlobalOptions, openContext, parseMode, reportWarnings } from "./context.js";
import { defaultDirs } from "./index.js";

export interface RelocateOptions {
  cacheDir?: string;
  mode?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

const SHOWN = 50;

export async function run(o: RelocateOptions, g: GlobalOptions): Promise<number> {
  requireConfirmable("rewrite group files", o);
  const mode = parseMode(o.mode);
  const roots = o.cacheDir !== undefined ? [resolveCacheDir(o.cacheDir)] : defaultDirs(mode).map(resolveCacheDir);
  const ctx = openContext(g);
  const releases: (() => void)[] = [];
  try {
    if (!o.dryRun) for (const r of roots) releases.push(await lockRoot(r));
    const plans: { root: string; plan: RelocatePlan; left: UnrewrittenRoot[] }[] = [];
    for (const root of roots) {
      // the plan is made from the disk as it is now
      const s = await indexRoot(ctx.db, root, { mode, progress: process.stderr.isTTY === true });
      const stale = ctx.db.queryKernels({ cacheDir: s.root, onDisk: true }).filter((k) => k.staleGroupPaths);
      const plan = planRelocate(stale.map((k) => k.path));
      // vLLM loads each compile unit by the absolute path its vllm_compile_cache.py holds
      planVllmIndex(plan, new UnitStore(ctx.db).compileFolders(s.root));
      // Inductor's autotuners read and write at the pickled paths of their kernels
      planInductorEntries(plan, ctx.db.inductorRoots(s.root));
      const left = unrewrittenRoots(new UnitStore(ctx.db).units(s.root), s.root, plan.warnings);
      plans.push({ root: s.root, plan, left });
    }
    const total = (k: "groupFiles" | "vllmIndexFiles" | "inductorEntries" | "paths" | "left") =>
      plans.reduce((s, p) => s + p.plan[k], 0);
    const report = (applied: boolean) => ({
      dryRun: o.dryRun === true,
      applied,
      groupFiles: total("groupFiles"),
      vllmIndexFiles: total("vllmIndexFiles"),
      inductorEntries: total("inductorEntries"),
      paths: total("paths"),
      left: total("left"),
      roots: plans.map(({ root, plan, left }) => ({
        root,
        groupFiles: plan.groupFiles,
        vllmIndexFiles: plan.vllmIndexFiles,
        inductorEntries: plan.inductorEntries,
        paths: plan.paths,
        left: plan.left,
        notRewritable: left,
        entries: plan.entries.map(({ kind, kernel, groupFile, rewritten, left }) => ({
          kind,
          kernel,
          groupFile,
          rewritten,
          left,
        })),
      })),
    });
    for (const { plan, left } of plans) {
      reportWarnings(plan.warnings);
      for (const line of describeUnrewritten(left)) process.stderr.write(`${line}\n`);
    }
    if (total("groupFiles") + total("vllmIndexFiles") + total("inductorEntries") === 0) {
      // nothing to do is success
      if (o.json) ctx.json(report(false));
      process.stderr.write("no group file or cache entry points elsewhere: nothing to relocate\n");
      return 0;
    }
    const others = [
      total("vllmIndexFiles") ? plural(total("vllmIndexFiles"), "vllm_compile_cache.py file") : "",
      total("inductorEntries") ? plural(total("inductorEntries"), "Inductor cache entry") : "",
    ].filter(Boolean);
    const describe = `Plan: rewrite ${plural(total("groupFiles"), "group file")}${others.map((x) => ` and ${x}`).join("")} (${plural(total("paths"), "path")})${
      total("left") ? `; ${plural(total("left"), "path")} left (outside their kernel, or naming a missing file)` : ""
    }`;
    if (!o.json) {
      for (const { root, plan } of plans) {
        const shown = verbosity() >= 1 ? plan.entries : plan.entries.slice(0, SHOWN);
        for (const e of shown) ctx.out(`rewrite ${e.groupFile.slice(root.length + 1)}: ${plural(e.rewritten, "path")}`);
        if (plan.entries.length > shown.length)
          ctx.out(`... and ${plan.entries.length - shown.length} more (-v shows all)`);
      }
      ctx.out(ctx.colors.bold(describe));
    }
    if (o.dryRun) {
      if (o.json) ctx.json(report(false));
      else ctx.out("Dry run: nothing was changed.");
      return 0;
    }
    if (!o.yes && !(await confirm(o.json ? describe : "Proceed?"))) {
      process.stderr.write("Aborted: nothing was changed.\n");
      return 1;
    }
    const skipped = [];
    let files = 0;
    let indexFiles = 0;
    let entries = 0;
    for (const { root, plan } of plans) {
      const done = applyRelocate(plan, root);
      files += done.groupFiles;
      indexFiles += done.vllmIndexFiles;
      entries += done.inductorEntries;
      skipped.push(...done.skipped);
      await indexRoot(ctx.db, root, { mode });
    }
    if (o.json)
      ctx.json({
        ...report(true),
        rewritten: files,
        rewrittenVllmIndexFiles: indexFiles,
        rewrittenInductorEntries: entries,
        skipped,
      });
    else {
      for (const s of skipped) ctx.out(ctx.colors.yellow(`skipped ${s.path}: ${s.reason}`));
      const also = [
        indexFiles ? plural(indexFiles, "vllm_compile_cache.py file") : "",
        entries ? plural(entries, "Inductor cache entry") : "",
      ].filter(Boolean);
      ctx.out(`Rewrote ${plural(files, "group file")}${also.map((x) => ` and ${x}`).join("")}.`);
    }
    return 0;
  } finally {
    for (const release of releases) release();
  }
}
