// A kernel's `--json` text (report/kernel-json.ts's fields) written by SQLite,
// for listings of every kernel: one string a row, not 29 values.
import { KERNEL_JSON_FIELDS } from "../report/kernel-json.js";
import { boolSql, isoSql, jsonValue, prettyObjectSql } from "./json-sql.js";

const AS = {
  value: jsonValue,
  iso: isoSql,
  bool: boolSql,
  count: (c: string) => `coalesce(json_array_length(${c}), 0)`,
};

/** SQL over a kernels row giving jsonElement(kernelJson(row), depth). */
export function kernelJsonSql(depth: number): string {
  return prettyObjectSql(
    KERNEL_JSON_FIELDS.map((f) => ({
      key: f.key,
      json: AS[f.as](f.column),
      when: "vllmOnly" in f ? "layout = 'vllm'" : undefined,
    })),
    depth,
  );
}
