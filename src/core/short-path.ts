// Paths in messages are shortened: a path of thousands of characters (ENAMETOOLONG
// reports it twice) made a 10 KB error line.

export const MAX_PATH_IN_MESSAGE = 200;

/** `p` itself when short; else its head and tail around "…", `max` characters in all. */
export function shortPath(p: string, max = MAX_PATH_IN_MESSAGE): string {
  if (p.length <= max) return p;
  const head = Math.ceil((max - 1) / 2);
  return `${p.slice(0, head)}…${p.slice(p.length - (max - 1 - head))}`;
}

/** Every run of non-blank characters longer than `max` (a path, mostly) shortened by shortPath. */
export function shortenLongRuns(text: string, max = MAX_PATH_IN_MESSAGE): string {
  return text.length <= max ? text : text.replace(/\S+/g, (run) => shortPath(run, max));
}
