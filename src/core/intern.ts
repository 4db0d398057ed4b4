// One copy of each of the few strings that repeat across a big set of records
// (backends, arches, file names): strings read from SQLite or a folder are a
// fresh copy each, and a million copies of "cuda" are a million strings.

/**
 * A function that gives back the first string equal to its argument. At most
 * `cap` distinct strings are held: past that, new ones are returned as they
 * are (names that never repeat would only grow the table).
 */
export function interner(cap = 65_536): (s: string) => string {
  const held = new Map<string, string>();
  return (s) => {
    const h = held.get(s);
    if (h !== undefined) return h;
    if (held.size < cap) held.set(s, s);
    return s;
  };
}
