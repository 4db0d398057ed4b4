// Two files are linked only when their bytes are equal, read now: a digest in
// the index says where to look, never what to trust.
import { closeSync, openSync, readSync } from "node:fs";

const CHUNK = 1 << 20;

export function sameContent(a: string, b: string): boolean {
  const fa = openSync(a, "r");
  try {
    const fb = openSync(b, "r");
    try {
      const ba = Buffer.allocUnsafe(CHUNK);
      const bb = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0; ; pos += CHUNK) {
        const na = readSync(fa, ba, 0, CHUNK, pos);
        const nb = readSync(fb, bb, 0, CHUNK, pos);
        if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
        if (na < CHUNK) return true;
      }
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}
