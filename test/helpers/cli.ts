// Runs the built CLI (bin/mcm) as a user would, with its own database.
import { type ChildProcessByStdio, type SpawnSyncOptions, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";

const BIN = new URL("../../bin/mcm", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  db: string;
  env?: Record<string, string>;
  spawn?: SpawnSyncOptions;
  /** as root, drop the capabilities that bypass permission bits (setpriv, util-linux) */
  obeyPermissions?: boolean;
}

export function mcm(args: string[], opts: CliOptions): CliResult {
  const argv = [process.execPath, BIN, ...args];
  if (opts.obeyPermissions && process.getuid?.() === 0) {
    argv.unshift("setpriv", "--bounding-set=-dac_override,-dac_read_search");
  }
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    encoding: "utf8",
    env: { ...process.env, MCM_DB: opts.db, NO_COLOR: "1", ...opts.env },
    ...opts.spawn,
  });
  return { code: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Like mcm(), without blocking this process: for tests that serve HTTP from it (a token server, a proxy). */
export function mcmAsync(args: string[], opts: CliOptions): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, MCM_DB: opts.db, NO_COLOR: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return outputOf(child);
}

/** Everything a child started with piped stdout and stderr prints, and its exit code, once it has ended. */
export function outputOf(child: ChildProcessByStdio<null, Readable, Readable>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function mcmJson<T = unknown>(args: string[], opts: { db: string; env?: Record<string, string> }): T {
  const r = mcm([...args, "--json"], opts);
  if (r.code !== 0) throw new Error(`mcm ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The environment of a user's shell: NO_COLOR unset, a TERM that is not dumb; then `env` (undefined: unset). */
export function userEnv(db: string, env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, MCM_DB: db, TERM: "xterm-256color" };
  delete out.NO_COLOR;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs mcm with its stdout and stderr on a pseudo-terminal, as from a user's
 * shell (script, util-linux; see TOOLS.script), in userEnv(). What the terminal
 * showed comes back as stdout, with \r\n line ends.
 */
export function mcmOnTerminal(
  args: string[],
  opts: { db: string; env?: Record<string, string | undefined> },
): CliResult {
  const cmd = [process.execPath, BIN, ...args].map(shellQuote).join(" ");
  const r = spawnSync("script", ["-qec", cmd, "/dev/null"], {
    encoding: "utf8",
    env: userEnv(opts.db, opts.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { code: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function dbIn(dir: string): string {
  return join(dir, "index.db");
}
