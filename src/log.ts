// Logging on stderr: -v warnings, -vv info, -vvv debug.
let level = 0;

export function setVerbosity(v: number): void {
  level = v;
}

export function verbosity(): number {
  return level;
}

export const log = {
  warn: (msg: string) => level >= 1 && process.stderr.write(`warning: ${msg}\n`),
  info: (msg: string) => level >= 2 && process.stderr.write(`info: ${msg}\n`),
  debug: (msg: string) => level >= 3 && process.stderr.write(`debug: ${msg}\n`),
};
