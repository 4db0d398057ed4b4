// Output that streams: rows are written as they come, in chunks, so that a
// listing of a million kernels holds one chunk in memory, not the listing.
// (process.stdout is synchronous on Linux for files, pipes and terminals.)

const CHUNK = 1 << 20;

export class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly write: (text: string) => void) {}

  add(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.parts.length) this.write(this.parts.join(""));
    this.parts = [];
    this.size = 0;
  }
}

/**
 * Writes `items` as one JSON array, byte for byte what JSON.stringify(array,
 * null, 2) prints, one item at a time; returns how many there were.
 */
export function writeJsonArray(items: Iterable<unknown>, write: (text: string) => void): number {
  return writeJsonElements(
    mapped(items, (item) => jsonElement(item, 1)),
    write,
  );
}

/** writeJsonArray of elements already written as `jsonElement(_, 1)` texts. */
export function writeJsonElements(elements: Iterable<string>, write: (text: string) => void): number {
  const out = new ChunkedWriter(write);
  let n = 0;
  for (const element of elements) {
    out.add(n === 0 ? "[\n" : ",\n");
    out.add(element);
    n++;
  }
  out.add(n === 0 ? "[]\n" : "\n]\n");
  out.flush();
  return n;
}

function* mapped<T, U>(items: Iterable<T>, f: (t: T) => U): Generator<U> {
  for (const t of items) yield f(t);
}

/**
 * `value` as JSON.stringify(_, null, 2) writes it as an element of an array
 * `depth` levels deep (1: a top-level array), its indent included.
 */
export function jsonElement(value: unknown, depth: number): string {
  // the element as JSON.stringify writes it inside an array: indented, in one native call
  const text = JSON.stringify([value], null, 2).slice(2, -2);
  return depth === 1 ? text : indent(text, depth - 1);
}

function indent(text: string, levels: number): string {
  const pad = "  ".repeat(levels);
  return pad + text.replaceAll("\n", `\n${pad}`);
}

/** An array of an object that writeJsonObject streams: its elements as `jsonElement(_, 2)` texts. */
export class StreamedArray {
  constructor(readonly elements: () => Iterable<string>) {}
}

/**
 * Writes an object as JSON.stringify(_, null, 2) would, byte for byte, with
 * the fields that are StreamedArrays written one element at a time.
 */
export function writeJsonObject(fields: [string, unknown][], write: (text: string) => void): void {
  const out = new ChunkedWriter(write);
  out.add("{");
  fields.forEach(([key, value], i) => {
    out.add(`${i === 0 ? "" : ","}\n  ${JSON.stringify(key)}: `);
    if (!(value instanceof StreamedArray)) {
      out.add((JSON.stringify(value, null, 2) ?? "null").replaceAll("\n", "\n  "));
      return;
    }
    let n = 0;
    for (const element of value.elements()) {
      out.add(n++ === 0 ? "[\n" : ",\n");
      out.add(element);
    }
    out.add(n === 0 ? "[]" : "\n  ]");
  });
  out.add(fields.length ? "\n}\n" : "}\n");
  out.flush();
}
