import pc from "picocolors";

/** Colours only on a terminal, never with --no-color or NO_COLOR. */
export function makeColors(noColor: boolean) {
  const on = !noColor && !process.env.NO_COLOR && process.stdout.isTTY === true && process.env.TERM !== "dumb";
  return pc.createColors(on);
}

export type Colors = ReturnType<typeof makeColors>;
