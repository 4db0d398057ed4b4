import { createInterface } from "node:readline/promises";
import { McmError } from "../core/errors.js";

/** Without a terminal nobody can answer: a destructive command needs --yes or --dry-run. */
export function requireConfirmable(what: string, o: { yes?: boolean; dryRun?: boolean }): void {
  if (!o.yes && !o.dryRun && !process.stdin.isTTY) {
    throw new McmError(
      `refusing to ${what} without a terminal to confirm: pass --yes to apply the plan, or --dry-run to see it`,
    );
  }
}

/** Asks on the terminal; anything but y/yes is no. Callers check for a terminal first. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
