// Pure planning for vLLM compile units: which folders of units go (--full,
// --stale) and which byte-identical units become hard links (--deduplicate
// --link). The inside of a unit is never rewritten. No I/O here.
import type { CompileDirRecord, UnitRow } from "../db/units.js";
import type { PlanEntry, ProtectOptions, SkippedEntry } from "./plan.js";

export interface UnitPlan {
  entries: PlanEntry[];
  skipped: SkippedEntry[];
}

const nameOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** "rank_0_0/backbone" for the plan's NAME column. */
function label(u: Pick<UnitRow, "rank" | "prefix">): string {
  return [u.rank, u.prefix].filter(Boolean).join("/") || "-";
}

function inFlight(mtime: number, o: ProtectOptions): string | null {
  if (o.inFlightMs !== undefined && o.now - mtime < o.inFlightMs)
    return `written in the last ${Math.round(o.inFlightMs / 1000)} s: vLLM may still be writing it`;
  if (o.keepRecentMs !== undefined && o.now - mtime < o.keepRecentMs) return "written recently (--keep-recent)";
  return null;
}

/** The units of each compile folder (a rank, or a prefix inside one). */
function byFolder(units: UnitRow[]): Map<string, UnitRow[]> {
  const m = new Map<string, UnitRow[]>();
  for (const u of units) m.set(u.container, [...(m.get(u.container) ?? []), u]);
  return m;
}

function removeFolder(us: UnitRow[], reason: string): PlanEntry {
  const first = us[0] as UnitRow;
  return {
    hash: first.vllmHash ?? "",
    name: label(first),
    path: first.container,
    root: first.root,
    action: "remove-unit",
    files: us.map((u) => nameOf(u.path)),
    sizes: us.map((u) => u.bytes),
    bytes: us.reduce((n, u) => n + u.bytes, 0),
    reason,
  };
}

/** --full: every compile folder whose newest unit is in the age window. */
export function planUnitsFull(
  units: UnitRow[],
  o: ProtectOptions & { olderThanMs?: number; youngerThanMs?: number },
): UnitPlan {
  const out: UnitPlan = { entries: [], skipped: [] };
  for (const us of byFolder(units).values()) {
    const newest = Math.max(...us.map((u) => u.mtime));
    if (o.olderThanMs !== undefined && o.now - newest < o.olderThanMs) continue;
    if (o.youngerThanMs !== undefined && o.now - newest >= o.youngerThanMs) continue;
    const first = us[0] as UnitRow;
    const why = inFlight(newest, o);
    if (why) out.skipped.push({ hash: first.vllmHash ?? "", path: first.container, root: first.root, reason: why });
    else out.entries.push(removeFolder(us, "matches the filters (--full): the whole compile folder"));
  }
  return out;
}

/**
 * --stale: a compile folder that a newer vLLM hash superseded: the same traced
 * graph (model), rank and prefix, made by other vLLM code or another compiler
 * (code_hash, compiler_hash). A hash that differs only in config_hash is
 * another configuration of the same model, which may well be in use: kept.
 */
export function planUnitsStale(units: UnitRow[], dirs: CompileDirRecord[], o: ProtectOptions): UnitPlan {
  const out: UnitPlan = { entries: [], skipped: [] };
  const folders = byFolder(units);
  const newest = (d: CompileDirRecord) => Math.max(-1, ...(folders.get(d.path) ?? []).map((u) => u.mtime));
  const groups = new Map<string, CompileDirRecord[]>();
  for (const d of dirs) {
    if (!d.graph || !folders.has(d.path)) continue;
    const k = [d.root, d.graph, d.rank, d.prefix].join("\0");
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  for (const ds of groups.values()) {
    const [keep, ...older] = [...ds].sort((a, b) => newest(b) - newest(a) || a.path.localeCompare(b.path));
    if (!keep) continue;
    for (const d of older) {
      if (d.vllmHash === keep.vllmHash) continue;
      const changed = ["code_hash", "compiler_hash"].filter((f) => d.factors?.[f] !== keep.factors?.[f]);
      const us = folders.get(d.path) as UnitRow[];
      if (changed.length === 0) {
        out.skipped.push({
          hash: d.vllmHash ?? "",
          path: d.path,
          root: d.root,
          reason: `same model and vLLM as ${keep.vllmHash}, another configuration (config_hash): may be in use; kept`,
        });
        continue;
      }
      const why = inFlight(newest(d), o);
      if (why) {
        out.skipped.push({ hash: d.vllmHash ?? "", path: d.path, root: d.root, reason: why });
        continue;
      }
      const what = changed.map(
        (f) => `${f} ${String(d.factors?.[f]).slice(0, 10)} -> ${String(keep.factors?.[f]).slice(0, 10)}`,
      );
      out.entries.push(
        removeFolder(
          us,
          `superseded by ${keep.vllmHash} (same model graph and ${label(d)}; ${what.join(", ")}), written ${new Date(newest(keep)).toISOString()}`,
        ),
      );
    }
  }
  return out;
}

/**
 * --deduplicate --link: each byte-identical unit file becomes a hard link to
 * one copy (the first path). vLLM opens every unit by its path, so none is
 * removed; files that already share an inode are left as they are.
 */
export function planUnitLinks(units: UnitRow[], o: ProtectOptions): UnitPlan {
  const out: UnitPlan = { entries: [], skipped: [] };
  const same = new Map<string, UnitRow[]>();
  for (const u of units) if (u.digest) same.set(u.digest, [...(same.get(u.digest) ?? []), u]);
  const links = new Map<string, { u: UnitRow; target: UnitRow }[]>();
  for (const group of same.values()) {
    const [keeper, ...dups] = [...group].sort((a, b) => a.path.localeCompare(b.path));
    if (!keeper) continue;
    for (const d of dups) {
      if (d.inode !== null && d.inode === keeper.inode) continue;
      const why = inFlight(Math.max(d.mtime, keeper.mtime), o);
      if (why) {
        out.skipped.push({ hash: d.vllmHash ?? "", path: d.path, root: d.root, reason: why });
        continue;
      }
      links.set(d.container, [...(links.get(d.container) ?? []), { u: d, target: keeper }]);
    }
  }
  for (const ls of links.values()) {
    const first = (ls[0] as { u: UnitRow }).u;
    out.entries.push({
      hash: first.vllmHash ?? "",
      name: label(first),
      path: first.container,
      root: first.root,
      action: "link-units",
      files: ls.map((l) => nameOf(l.u.path)),
      sizes: ls.map((l) => l.u.bytes),
      links: ls.map((l) => ({ file: nameOf(l.u.path), target: l.target.path })),
      bytes: ls.reduce((n, l) => n + l.u.bytes, 0),
      reason: (() => {
        const targets = new Set(ls.map((l) => l.target.path));
        const one = targets.size === 1 ? nameOf((ls[0] as { target: UnitRow }).target.path) : null;
        return one
          ? `byte-identical to ${one}: hard links to it, every path stays`
          : `byte-identical to ${targets.size} kept copies: hard links to them, every path stays`;
      })(),
    });
  }
  return out;
}
