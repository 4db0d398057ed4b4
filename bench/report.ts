// The results table.
import pc from "picocolors";

export interface Row {
  /** kernels in the cache; null for measurements that do not depend on it */
  size: number | null;
  measurement: string;
  value: string;
  ratio: string;
  target: string;
  /** null: informational, no target */
  pass: boolean | null;
}

export function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`;
}

export function ratio(x: number): string {
  return `${x.toFixed(x < 0.1 ? 3 : 2)}x`;
}

/** A timed median against its baseline's median, passing at no more than `target` times the baseline. */
export function ratioRow(size: number, measurement: string, x: number, baseline: number, target: number): Row {
  return {
    size,
    measurement,
    value: ms(x),
    ratio: ratio(x / baseline),
    target: `<= ${target}x`,
    pass: x / baseline <= target,
  };
}

export function mb(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`;
}

export function table(rows: Row[]): string {
  const head = ["size", "measurement", "value", "ratio", "target", "result"];
  const cells = rows.map((r) => [
    r.size === null ? "-" : r.size.toLocaleString("en-US"),
    r.measurement,
    r.value,
    r.ratio,
    r.target,
    r.pass === null ? "" : r.pass ? "PASS" : "FAIL",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const right = new Set([0, 2, 3]);
  const line = (c: string[]) =>
    c
      .map((s, i) => (right.has(i) ? s.padStart(widths[i] as number) : s.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  const paint = (s: string, c: string[]) =>
    c[5] === "FAIL" ? pc.red(pc.bold(s)) : c[5] === "PASS" ? s.replace(/PASS$/, pc.green("PASS")) : s;
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map((c) => paint(line(c), c))].join("\n");
}
