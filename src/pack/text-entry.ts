// A tar entry whose content is text made in pieces (a manifest of a million
// records): its size is counted in a first pass, its bytes made in a second,
// so the whole text is never one string nor one Buffer. And the pieces of the
// JSON documents such entries hold, a record at a time.
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

/**
 * `JSON.stringify(doc, null, indent)` plus a newline, with each field that is
 * an array (or any other iterable: a generator makes its records as they are
 * written) given a record at a time. A JSON string holds no raw newline, so
 * indenting after each "\n" indents lines only.
 */
export function* prettyJsonText(doc: Record<string, unknown>, indent: number): Generator<string> {
  const pad = " ".repeat(indent);
  const nested = (v: unknown, depth: string) => JSON.stringify(v, null, indent).replaceAll("\n", `\n${depth}`);
  const fields = Object.entries(doc).filter(([, v]) => v !== undefined);
  yield "{";
  for (const [i, [k, v]] of fields.entries()) {
    yield `${i ? "," : ""}\n${pad}${JSON.stringify(k)}: `;
    if (typeof v !== "object" || v === null || !(Symbol.iterator in v)) {
      yield nested(v, pad);
      continue;
    }
    let n = 0;
    for (const x of v as Iterable<unknown>) yield `${n++ ? "," : "["}\n${pad}${pad}${nested(x, pad + pad)}`;
    yield n ? `\n${pad}]` : "[]";
  }
  yield fields.length ? "\n}\n" : "}\n";
}
