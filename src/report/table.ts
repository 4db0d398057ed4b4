// A borderless table: a header row and aligned columns. Hand-written because a
// table library costs more start-up time than `list` can spend at 100k kernels.

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes have no width
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, "").length;

export function table(head: string[], rows: (string | number)[][], rightAligned: number[] = []): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ""))));
  const last = head.length - 1;
  return cells
    .map((r) =>
      r
        .map((c, i) => {
          const pad = " ".repeat((widths[i] ?? 0) - width(c));
          if (rightAligned.includes(i)) return pad + c;
          return i === last ? c : c + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
