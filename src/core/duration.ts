import { McmError } from "./errors.js";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `90m`, `12h`, `7d`, `2w` (and `30s`, `500ms`; a bare `0`) into milliseconds. */
export function parseDuration(text: string): number {
  if (/^\s*0\s*$/.test(text)) return 0;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|[smhdw])\s*$/i.exec(text);
  if (!m) {
    throw new McmError(`invalid duration '${text}': use a number and a unit, e.g. 90m, 12h, 7d, 2w`);
  }
  return Number(m[1]) * (UNIT_MS[(m[2] as string).toLowerCase()] as number);
}
