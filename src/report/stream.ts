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
  const out = new ChunkedWriter(write);
  let n = 0;
  for (const item of items) {
    // the element as JSON.stringify writes it inside an array: indented, in one native call
    out.add(n === 0 ? "[\n" : ",\n");
    out.add(JSON.stringify([item], null, 2).slice(2, -2));
    n++;
  }
  out.add(n === 0 ? "[]\n" : "\n]\n");
  out.flush();
  return n;
}
