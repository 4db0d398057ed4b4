// A full garbage collection between the phases of one command. V8 sets the
// heap size at which it next collects from the biggest live heap it has seen:
// after an index of a million entries (150 MB live for a moment) it lets a
// prune's garbage grow to 400 MB before it looks. Collecting once when the
// index is done starts the next phase from what is really live.
//
// Node has no API for this without --expose-gc on its command line; the flag
// set at run time and `gc` taken from a fresh context is how Jest's leak
// detection gets it too.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

export function releaseMemory(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

/**
 * A step counter for a long loop of one phase that calls releaseMemory every
 * `every` steps: what each step leaves behind otherwise piles up to several
 * times the live set before V8 looks (a collection costs about 0.1 s at 100k
 * kernels).
 */
export function collectEvery(every: number): () => void {
  let steps = 0;
  return () => {
    if (++steps % every === 0) releaseMemory();
  };
}
