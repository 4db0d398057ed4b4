// WWW-Authenticate: `Basic realm="x"` or `Bearer realm="u",service="s",scope="a b"`.

export interface Challenge {
  scheme: "basic" | "bearer" | "other";
  params: Record<string, string>;
}

export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\S+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const word = (m[1] as string).toLowerCase();
  const scheme = word === "basic" || word === "bearer" ? word : "other";
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (const p of (m[2] as string).matchAll(re)) {
    params[(p[1] as string).toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  }
  return { scheme, params };
}
