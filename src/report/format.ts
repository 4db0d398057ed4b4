// Readable sizes and times for tables.
import prettyBytes from "pretty-bytes";

export function size(bytes: number): string {
  return prettyBytes(bytes, { binary: true }); // no fraction options: those load ICU, 30 ms
}

export function iso(ms: number | null): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** "3 min ago", "5 h ago", "12 d ago"; dates past a year. */
export function age(ms: number | null, now = Date.now()): string {
  if (ms === null || ms === undefined) return "-";
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 365) return `${Math.floor(s / 86400)} d ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

export function shortHash(key: string): string {
  return key.slice(0, 12);
}

/** "850 ms", "12.3 s", "3 min 12 s", "1 h 4 min". */
export function elapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** "1 kernel", "3 kernels". */
export function plural(count: number, noun: string): string {
  if (count === 1) return `${count} ${noun}`;
  // "entry" -> "entries", "key" -> "keys"
  return /[^aeiou]y$/.test(noun) ? `${count} ${noun.slice(0, -1)}ies` : `${count} ${noun}s`;
}
