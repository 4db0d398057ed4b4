// Timing child processes end to end, and reading their peak RSS.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export interface Timed {
  ms: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** keep stdout (else it goes to /dev/null) */
  capture?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion and returns its wall time; throws when it fails. */
export function timed(cmd: string, args: string[], opts: RunOptions = {}): Timed {
  const started = performance.now();
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", opts.capture ? "pipe" : "ignore", "pipe"],
    encoding: "utf8",
    maxBuffer: 1 << 30,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const ms = performance.now() - started;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}:\n${r.stderr}`);
  }
  return { ms, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export interface IndexFloor {
  /** `find -printf` of every file's size and mtime: the walk */
  find: () => number;
  /** reading every metadata JSON, from a list made untimed (the floor reads, it does not search) */
  meta: () => number;
  metaFiles: number;
}

/** The cold index's floor on the Triton cache at `root`; writes the metadata list to `listFile`. */
export function indexFloor(root: string, listFile: string): IndexFloor {
  const found = timed(
    "find",
    [root, "-name", "*.json", "!", "-name", "__grp__*", "!", "-name", "*.autotune.json", "-print0"],
    { capture: true },
  ).stdout;
  writeFileSync(listFile, found);
  return {
    find: () => timed("find", [root, "-type", "f", "-printf", "%s %T@\\n"]).ms,
    meta: () => timed("xargs", ["-0", "-a", listFile, "cat"]).ms,
    metaFiles: found.split("\0").filter(Boolean).length,
  };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

// Runs the CLI in-process and records its peak RSS at exit (KiB, like GNU time's %M).
// A file, not `node -e`: worker threads inherit the parent's execArgv.
const RSS_WRAPPER = `
import { writeFileSync } from "node:fs";
const { main } = await import(process.env.MCM_BENCH_CLI);
process.on("exit", () => writeFileSync(process.env.MCM_BENCH_RSS, String(process.resourceUsage().maxRSS)));
process.exitCode = await main(process.argv.slice(2));
`;

/** Runs `node <bin> ...args` and reports its wall time and peak RSS. */
export interface RssRunner {
  method: string;
  /** `capture` false: stdout goes to /dev/null (a listing of every kernel is big) */
  run(args: string[], env?: NodeJS.ProcessEnv, capture?: boolean): Timed & { rssKb: number };
}

export function rssRunner(bin: string, cliModule: string, rssFile: string): RssRunner {
  const readRss = () => {
    // GNU time puts "Command exited with non-zero status N" first when the command fails
    const lines = readFileSync(rssFile, "utf8").trim().split("\n");
    const kb = Number(lines[lines.length - 1]);
    if (!Number.isFinite(kb)) throw new Error(`no peak RSS in ${rssFile}`);
    return kb;
  };
  if (hasGnuTime()) {
    return {
      method: "/usr/bin/time -f %M",
      run(args, env, capture = true) {
        rmSync(rssFile, { force: true });
        const t = timed("/usr/bin/time", ["-f", "%M", "-o", rssFile, process.execPath, bin, ...args], {
          capture,
          env,
        });
        return { ...t, rssKb: readRss() };
      },
    };
  }
  const wrapper = join(dirname(rssFile), "rss-wrapper.mjs");
  writeFileSync(wrapper, RSS_WRAPPER);
  return {
    method: "in-process wrapper: process.resourceUsage().maxRSS",
    run(args, env, capture = true) {
      rmSync(rssFile, { force: true });
      const t = timed(process.execPath, [wrapper, ...args], {
        capture,
        env: { ...(env ?? process.env), MCM_BENCH_CLI: pathToFileURL(cliModule).href, MCM_BENCH_RSS: rssFile },
      });
      return { ...t, rssKb: readRss() };
    },
  };
}

function hasGnuTime(): boolean {
  if (process.env.BENCH_RSS === "wrapper" || !existsSync("/usr/bin/time")) return false;
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "true"], { encoding: "utf8" });
  return r.status === 0 && /^\d+$/.test(r.stderr.trim());
}
