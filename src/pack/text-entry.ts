// A tar entry whose content is text made in pieces (a manifest of a million
// records): its size is counted in a first pass, its bytes made in a second,
// so the whole text is never one string nor one Buffer.
import type { TarEntry } from "./tar.js";

const PIECE_BYTES = 1 << 16;

/** `pieces` must give the same text each time it is called. */
export function textEntry(name: string, pieces: () => Iterable<string>): TarEntry & { size: number } {
  let size = 0;
  for (const t of pieces()) size += Buffer.byteLength(t);
  function* chunks(): Generator<Buffer> {
    let part: string[] = [];
    let n = 0;
    for (const t of pieces()) {
      part.push(t);
      n += t.length;
      if (n >= PIECE_BYTES) {
        yield Buffer.from(part.join(""));
        part = [];
        n = 0;
      }
    }
    if (part.length) yield Buffer.from(part.join(""));
  }
  return { name, type: "file", size, chunks };
}
