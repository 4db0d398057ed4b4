// Runs the workload (a container engine or the user's command) with its output
// streamed to stderr, a timeout, and Ctrl-C that stops it instead of orphaning it.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  /** the program could not be started at all (ENOENT, EACCES) */
  spawnError?: NodeJS.ErrnoException;
  /** the last lines it printed, for error messages */
  tail: string[];
  stderrText: string;
}

export interface ChildOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** a line of the child's stdout; return true to swallow it (protocol lines) */
  onLine?: (line: string) => boolean;
  /** extra clean-up when stopping early (e.g. `podman rm -f`), run before the child is killed */
  onStop?: () => void;
  /** how long the child gets after SIGTERM before SIGKILL */
  graceMs?: number;
}

const TAIL = 20;

export function runChild(argv: string[], opts: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve) => {
    const tail: string[] = [];
    let stderrText = "";
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
    };
    // its own process group, so a stop reaches the workload's children too
    const child = spawn(argv[0] as string, argv.slice(1), {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const result: ChildResult = { code: null, signal: null, timedOut: false, interrupted: false, tail, stderrText: "" };
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      try {
        opts.onStop?.();
      } catch {
        // the engine may already be gone; the kill below still runs
      }
      signalGroup("SIGTERM");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), opts.graceMs ?? 10_000);
    };
    const signalGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // already exited
      }
    };
    const onInterrupt = () => {
      result.interrupted = true;
      process.stderr.write("\nmcm: interrupted: stopping the workload\n");
      stop();
    };
    process.on("SIGINT", onInterrupt);
    process.on("SIGTERM", onInterrupt);
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            result.timedOut = true;
            stop();
          }, opts.timeoutMs)
        : undefined;

    createInterface({ input: child.stdout }).on("line", (line) => {
      if (opts.onLine?.(line)) return;
      keep(line);
      process.stderr.write(`${line}\n`);
    });
    createInterface({ input: child.stderr }).on("line", (line) => {
      keep(line);
      stderrText += `${line}\n`;
      process.stderr.write(`${line}\n`);
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      process.off("SIGINT", onInterrupt);
      process.off("SIGTERM", onInterrupt);
      result.stderrText = stderrText;
      resolve(result);
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      result.spawnError = e;
      if (child.pid === undefined) finish(); // never started: no close event follows
    });
    child.on("close", (code, signal) => {
      result.code = code;
      result.signal = signal;
      finish();
    });
  });
}
