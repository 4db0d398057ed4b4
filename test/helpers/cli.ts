// Runs the built CLI (bin/mcm) as a user would, with its own database.
import { type SpawnSyncOptions, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

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
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, MCM_DB: opts.db, NO_COLOR: "1", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
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

export function dbIn(dir: string): string {
  return join(dir, "index.db");
}
