// The order of names in an archive: their UTF-8 bytes, as Buffer.compare gives it.

/**
 * Orders strings as Buffer.compare orders their UTF-8 bytes, without making
 * the buffers (a big archive's names would otherwise each hold one). UTF-16
 * order is code point order, hence UTF-8's, except where a surrogate meets
 * U+E000..U+FFFF: those few compare as bytes.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return a.length - b.length;
}
