// Bytes read by position: from memory, or from a file through one window, so
// that a reader can jump over what it does not need (the cubins and IR inside
// an artifact) without reading it.
import { readSync } from "node:fs";

export interface ByteSource {
  readonly length: number;
  /** bytes [pos, pos + n) (fewer at the end): a view, valid until the next call */
  view(pos: number, n: number): Uint8Array;
}

export function memorySource(data: Uint8Array): ByteSource {
  return { length: data.length, view: (pos, n) => data.subarray(pos, pos + n) };
}

const WINDOW = 1 << 16;

/** A file opened by the caller; each read fills a reused window with what was asked, no more. */
export function fileSource(fd: number, length: number): ByteSource & { bytesRead: number } {
  let window = Buffer.allocUnsafe(WINDOW);
  const src = {
    length,
    bytesRead: 0,
    view(pos: number, n: number): Uint8Array {
      const want = Math.max(0, Math.min(n, length - pos));
      if (want > window.length) window = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const k = readSync(fd, window, got, want - got, pos + got);
        if (k === 0) break;
        got += k;
      }
      src.bytesRead += got;
      return window.subarray(0, got);
    },
  };
  return src;
}

/** A part of a source: what a length-prefixed field or a byte string in a pickle holds. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** A copy of a range, for what must outlive the next read. */
export function copyOf(src: ByteSource, r: ByteRange): Uint8Array {
  const v = src.view(r.offset, r.length);
  if (v.length < r.length) throw new RangeError(`truncated at byte ${r.offset + v.length}`);
  return new Uint8Array(v.subarray(0, r.length));
}
