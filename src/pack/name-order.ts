// The order of names in an archive: their UTF-8 bytes, as Buffer.compare gives it.

/**
 * Orders strings as Buffer.compare orders their UTF-8 bytes, without making
 * the buffers (a big archive's names would otherwise each hold one). UTF-16
 * order is code point order, hence UTF-8's, except where a surrogate meets
 * U+E000..U+FFFF: those few compare as bytes.
 */
export function compareUtf8(a: string, b: string): number {
  return compareWhereDiffer(a, b) || a.length - b.length;
}

/** compareUtf8's order where `a` and `b` first differ; 0 when one starts the other (or they are equal). */
export function compareWhereDiffer(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    // the bytes differ inside the characters at i, so the rest of either string never decides
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return 0;
}
