// The IR-only and --full plans made by SQLite itself: one INSERT … SELECT from
// the index into the plan table, each entry's JSON text written in SQL. Read
// into JavaScript a kernel at a time, 100k kernels took 6 s; this takes 2.
// The rules are prune/plan.ts's irOnlyStep and fullStep, which stay the
// specification: test/db/plan-sql.test.ts holds the two to the same bytes.
import type { KernelFilters } from "../core/filters.js";
import { FULL_REASON, inFlightReason, irOnlyReason, KEEP_RECENT_REASON, type ProtectOptions } from "../prune/plan.js";
import { filterSql } from "./index.js";
import { prettyArraySql, prettyObjectSql, jsonValue as str, jsonText as text } from "./json-sql.js";

export interface SqlStepOptions extends ProtectOptions {
  mode: "ir-only" | "full";
  /** ir-only: the assembly goes too */
  asm: boolean;
}

/** A statement for PlanTable.addFromIndex: its SQL, positional then named arguments. */
export interface PlanSelect {
  sql: string;
  args: unknown[];
  named: Record<string, unknown>;
}

const fields = (f: [key: string, json: string][]) => f.map(([key, json]) => ({ key, json }));

/**
 * The plan rows (skipped, unit, files, bytes, links, root, path, json) of every
 * kernel on disk that matches `f`, by path, as irOnlyStep or fullStep makes
 * them. Reads the index as `idx` and the live writers from a table `live`
 * (path, reason): finding one takes a process check, which SQL cannot make.
 */
export function kernelStepsSelect(f: KernelFilters, o: SqlStepOptions): PlanSelect {
  const { where, args } = filterSql({ ...f, onDisk: true }, o.now);
  const kinds = o.mode === "full" ? null : o.asm ? "('ir', 'asm')" : "('ir')";
  const files = kinds
    ? `JOIN jsonb_each(b.files) f WHERE f.value->>1 IN ${kinds}`
    : "LEFT JOIN jsonb_each(b.files) f ON true";
  const entry = prettyObjectSql(
    fields([
      ["hash", str("key")],
      ["name", str("name")],
      ["path", str("path")],
      ["root", str("root")],
      ["action", text(kinds ? "remove-files" : "remove-kernel")],
      ["files", "names"],
      ["sizes", "sizes"],
      ["bytes", "bytes"],
      ["reason", text(kinds ? irOnlyReason(o.asm) : FULL_REASON)],
    ]),
    2,
  );
  const kept = prettyObjectSql(
    fields([
      ["hash", str("key")],
      ["path", str("path")],
      ["root", str("root")],
      ["reason", str("why")],
    ]),
    2,
  );
  // the filters name kernels' columns: applied inside, where no other table shares a name
  const sql = `SELECT why IS NOT NULL, 0, iif(why IS NULL, n, 0), iif(why IS NULL, bytes, 0), 0, root, path,
      iif(why IS NULL, ${entry}, ${kept})
    FROM (SELECT k.path, k.root, k.key, k.name, count(f.key) AS n, coalesce(sum(f.value->>2), 0) AS bytes,
        ${prettyArraySql("json_quote(f.value->>0)", "f.key", 3)} AS names,
        ${prettyArraySql("(f.value->>2)", "f.key", 3)} AS sizes,
        CASE WHEN lv.reason IS NOT NULL THEN lv.reason
          WHEN @inFlightMs IS NOT NULL AND @now - k.modified_time < @inFlightMs THEN @inFlightReason
          WHEN @keepRecentMs IS NOT NULL AND @now - coalesce(k.last_access, k.modified_time) < @keepRecentMs
            THEN @keepRecentReason
        END AS why
      FROM (SELECT * FROM idx.kernels ${where}) k JOIN idx.kernel_blobs b ON b.path = k.path
        LEFT JOIN live lv ON lv.path = k.path
        ${files}
      GROUP BY k.path ORDER BY k.path)`;
  return {
    sql,
    args,
    named: {
      now: o.now,
      inFlightMs: o.inFlightMs ?? null,
      inFlightReason: o.inFlightMs === undefined ? null : inFlightReason(o.inFlightMs),
      keepRecentMs: o.keepRecentMs ?? null,
      keepRecentReason: KEEP_RECENT_REASON,
    },
  };
}
