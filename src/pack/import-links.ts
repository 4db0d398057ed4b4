// Where an imported symbolic link will lead once it is in place. Its target
// is resolved as the kernel will resolve it: through the archive's own links
// and the destination's, component by component. Checking the text alone let
// `sub/l -> ..` with `K -> sub/l/../../outside` out of the root.

/** Links followed at most (Linux: 40), so that a loop is refused, not followed forever. */
const MAX_HOPS = 40;

/**
 * The path, relative to the root, that a link at `rel` to `target` leads to,
 * or null when it leaves the root, is absolute, empty or loops. `linkAt(p)`
 * gives the target of the link at `p` (relative), or null where `p` is none.
 */
export function resolveInRoot(rel: string, target: string, linkAt: (p: string) => string | null): string | null {
  let hops = 0;
  const walk = (from: string[], t: string): string[] | null => {
    if (t === "" || t.startsWith("/")) return null;
    let at = [...from];
    for (const part of t.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (at.length === 0) return null;
        at.pop();
        continue;
      }
      at.push(part);
      const next = linkAt(at.join("/"));
      if (next === null) continue;
      if (++hops > MAX_HOPS) return null;
      const resolved = walk(at.slice(0, -1), next);
      if (resolved === null) return null;
      at = resolved;
    }
    return at;
  };
  const r = walk(rel.split("/").slice(0, -1), target);
  return r === null ? null : r.join("/");
}
