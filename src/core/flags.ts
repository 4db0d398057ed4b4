// Flag values checked once, where argv is read: what a typo or an unset shell
// variable turns into must be refused, not read as something else.
import { McmError } from "./errors.js";

/**
 * Refuses "": for a path it would silently mean the current folder (so
 * `--cache-dir "$UNSET"` pruned every cache under it), for --db a throwaway database.
 */
export function refuseEmpty(flag: string, value: string | undefined): void {
  if (value === "") throw new McmError(`${flag} is empty (an unset variable?)`);
}

/** A whole number as a safe integer (exact in a double, and in SQL), or one clear error. */
export function parseWholeNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new McmError(`${flag} needs a whole number, not '${text}'`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new McmError(`${flag} ${text.trim()} is too big (at most 2^53-1)`);
  return n;
}
