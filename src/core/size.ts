import { McmError } from "./errors.js";

// As ccache reads sizes: K, M, G, T are powers of 1000; Ki, Mi, Gi, Ti powers of 1024.
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
};

/** Parses `500M`, `20G`, `1.5Gi`, `800MB`, `1024` (bytes) into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$/i.exec(text);
  if (!m) throw new McmError(`invalid size '${text}': use a number and a unit, e.g. 500M, 20G, 1.5Gi`);
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] as number));
}
