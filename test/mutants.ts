// Mutation check: `npm run mutants [ID ...]`. Each mutant breaks one behaviour
// a user relies on; the tests named with it must then fail. Runs in a copy of
// the work tree (src/ here is never touched) and reports the survivors.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MUTANTS, type Mutant } from "./mutants-list.js";

const REPO = new URL("..", import.meta.url).pathname;

function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), "mcm-mutants-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: REPO, encoding: "utf8" })
    .split("\0")
    .filter((f) => f !== "");
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(REPO, f), join(dir, f));
    } catch {
      // listed but deleted in the work tree
    }
  }
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

function build(dir: string): void {
  execFileSync(process.execPath, [join(dir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: dir,
    stdio: "inherit",
  });
}

/** Exit status of the named test files, run as `npm test` runs them. */
function runTests(dir: string, tests: string[]): number {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=180000", ...tests],
    { cwd: dir, stdio: process.env.MUTANTS_VERBOSE ? "inherit" : "ignore" },
  );
  return r.status ?? 1;
}

function apply(dir: string, m: Mutant): () => void {
  const path = join(dir, m.file);
  const original = readFileSync(path, "utf8");
  const count = original.split(m.from).length - 1;
  if (count !== 1) throw new Error(`${m.id}: the text to mutate occurs ${count} times in ${m.file} (stale mutant?)`);
  writeFileSync(
    path,
    original.replace(m.from, () => m.to),
  );
  return () => writeFileSync(path, original);
}

function main(ids: string[]): number {
  const chosen = ids.length ? MUTANTS.filter((m) => ids.includes(m.id)) : MUTANTS;
  const unknown = ids.filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length) throw new Error(`unknown mutant ${unknown.join(", ")}`);
  const dir = copyTree();
  try {
    build(dir);
    // the tests must pass before any mutant can be said to be killed by them
    const all = [...new Set(chosen.flatMap((m) => m.tests))].sort();
    if (runTests(dir, all) !== 0) {
      console.error(`the tests fail without any mutant: ${all.join(" ")}`);
      return 2;
    }
    const survivors: Mutant[] = [];
    for (const m of chosen) {
      const restore = apply(dir, m);
      let killed: boolean;
      try {
        build(dir);
        killed = runTests(dir, m.tests) !== 0;
      } finally {
        restore();
      }
      if (!killed) survivors.push(m);
      console.log(`${killed ? "killed  " : "SURVIVED"} ${m.id.padEnd(5)} ${m.what}`);
    }
    console.log(`${chosen.length - survivors.length} of ${chosen.length} mutants killed`);
    return survivors.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
