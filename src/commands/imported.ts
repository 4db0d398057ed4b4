// What `import` and `pull` do once a cache has landed: index it, point the
// absolute paths vLLM and Inductor use at it, and say what stays pointed elsewhere.
import type { IndexSummary, Mode } from "../core/types.js";
import { UnitStore } from "../db/units.js";
import type { ArchiveRefused } from "../pack/import.js";
import {
  describeImportedMoves,
  describeUnrewritten,
  type RelocateResult,
  relocateImported,
  type UnrewrittenRoot,
  unrewrittenRoots,
} from "../pack/relocate.js";
import { indexRoot } from "../scan/indexer.js";
import { type Context, reportWarnings } from "./context.js";

export interface Settled {
  summaries: IndexSummary[];
  moves: RelocateResult[];
  left: UnrewrittenRoot[];
}

/** Indexes each root, then points its vllm_compile_cache.py files and Inductor entries at it. */
export async function settleImported(ctx: Context, roots: { path: string; layout: Mode }[]): Promise<Settled> {
  const out: Settled = { summaries: [], moves: [], left: [] };
  for (const root of roots) {
    const s = await indexRoot(ctx.db, root.path, { mode: root.layout, progress: process.stderr.isTTY === true });
    out.summaries.push(s);
    reportWarnings(s.warnings);
    // vLLM loads each compile unit by the absolute path in vllm_compile_cache.py, and Inductor's
    // autotuners read and write at the pickled paths of their kernels: point them here
    const units = new UnitStore(ctx.db);
    out.moves.push(relocateImported(s.root, units.compileFolders(s.root), ctx.db.inductorRoots(s.root)));
    out.left.push(...unrewrittenRoots(units.units(s.root), s.root, []));
  }
  return out;
}

/** The --json fields of what settleImported() rewrote and left (none for a dry run). */
export function settledJson(s: Settled | null) {
  const moves = s?.moves ?? [];
  const moved = (k: "vllmIndexFiles" | "inductorEntries" | "inductorPaths") => moves.reduce((n, m) => n + m[k], 0);
  return {
    vllmIndexFilesRewritten: moved("vllmIndexFiles"),
    inductorEntriesRewritten: moved("inductorEntries"),
    inductorPathsRewritten: moved("inductorPaths"),
    notRewritten: moves.flatMap((m) => m.skipped),
    notRewritable: s?.left ?? [],
  };
}

/** The same, as lines for a person. */
export function settledLines(s: Settled | null, dest: string): string[] {
  if (!s) return [];
  return [...s.moves.flatMap((m) => describeImportedMoves(m, dest)), ...describeUnrewritten(s.left)];
}

/** The entries an archive was refused for, on stderr (the first 20). */
export function printRefusals(e: ArchiveRefused): void {
  for (const x of e.refused.slice(0, 20)) process.stderr.write(`refused ${JSON.stringify(x.entry)}: ${x.reason}\n`);
}
