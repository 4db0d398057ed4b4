// A borderless table: a header row and aligned columns. Hand-written because a
// table library costs more start-up time than `list` can spend at 100k kernels.
import { ChunkedWriter } from "./stream.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes have no width
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, "").length;

type Cells = (string | number)[];

function line(cells: string[], widths: number[], rightAligned: number[]): string {
  const last = widths.length - 1;
  return cells
    .map((c, i) => {
      const pad = " ".repeat(Math.max(0, (widths[i] ?? 0) - width(c)));
      if (rightAligned.includes(i)) return pad + c;
      return i === last ? c : c + pad;
    })
    .join("  ")
    .trimEnd();
}

function widen(widths: number[], cells: Cells): void {
  cells.forEach((c, i) => {
    const w = width(String(c));
    if (w > (widths[i] ?? 0)) widths[i] = w;
  });
}

export function table(head: string[], rows: Cells[], rightAligned: number[] = []): string {
  const widths = head.map(width);
  for (const r of rows) widen(widths, r);
  return [head, ...rows].map((r) => line(r.map(String), widths, rightAligned)).join("\n");
}

/**
 * The same table, written as it goes: `rows()` is read twice (once for the
 * widths, once to print), so no more than a chunk of output is held.
 */
export function streamTable(
  head: string[],
  rows: () => Iterable<Cells>,
  rightAligned: number[],
  write: (text: string) => void,
): void {
  const widths = head.map(width);
  for (const r of rows()) widen(widths, r);
  const out = new ChunkedWriter(write);
  out.add(`${line(head, widths, rightAligned)}\n`);
  for (const r of rows()) out.add(`${line(r.map(String), widths, rightAligned)}\n`);
  out.flush();
}
