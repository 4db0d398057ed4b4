// Prune while programs load kernels from the same cache. Triton and a GPU
// cannot run in CI: live/standin.py stands in for Triton 3.6's FileCacheManager
// and CompiledKernel, in the same order of operations (gpu/check_live_prune.py
// is the same check with real Triton on a GPU). Several loader processes load
// and compile kernels in a loop while `mcm prune` runs in a loop, in every mode.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, outputOf } from "../helpers/cli.js";
import { cleanupTemp, tempDir } from "../helpers/fixtures.js";
import { base32Key } from "../helpers/synthetic.js";

after(cleanupTemp);

const LIVE = new URL("./live/", import.meta.url).pathname;
const LOADERS = 3;
const SECONDS_PER_MODE = Number(process.env.MCM_RACE_SECONDS ?? 4);
// the stand-in compiles in about 15 ms and reads a kernel in well under 1 ms: a short grace and
// in-flight window cover them, and let many prunes race the loaders in a few seconds
const GRACE = "200ms";
const IN_FLIGHT_MS = "300";

interface Spec {
  name: string;
  variant: number;
  size: number;
}

interface LoaderStats {
  loads: number;
  hits: number;
  misses: number;
  exceptions: Record<string, number>;
  tracebacks: string[];
}

interface Plan {
  entries: { path: string; action: string; files: string[] }[];
  freed: { kernels: number; files: number } | null;
}

/** 16 kernels in 3 names; two pairs of keys compile to the same kernel (duplicates, as two keys of one kernel can). */
function specs(): Record<string, Spec> {
  const out: Record<string, Spec> = {};
  const names = ["add_kernel", "matmul_kernel", "softmax_kernel"];
  for (let i = 0; i < 12; i++)
    out[base32Key(900 + i)] = { name: names[i % 3] as string, variant: i, size: 4000 + i * 900 };
  for (let i = 0; i < 4; i++) out[base32Key(950 + i)] = { name: "add_kernel", variant: 100 + (i >> 1), size: 6000 };
  return out;
}

function setup() {
  const root = tempDir();
  const specFile = join(tempDir(), "specs.json");
  writeFileSync(specFile, JSON.stringify(specs()));
  const db = dbIn(tempDir());
  // one short run compiles every kernel
  const warm = spawnSync("python3", [join(LIVE, "loader.py"), root, specFile, "2"], { encoding: "utf8" });
  assert.equal(warm.status, 0, warm.stderr);
  assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
  return { root, specFile, db };
}

interface Loaders {
  stop(): Promise<LoaderStats[]>;
}

/** Starts the loaders; resolves once each has begun its loop. */
async function startLoaders(root: string, specFile: string, extra: string[] = []): Promise<Loaders> {
  const children = Array.from({ length: LOADERS }, (_, i) =>
    spawn(
      "python3",
      [
        join(LIVE, "loader.py"),
        root,
        specFile,
        "600",
        "--seed",
        String(i),
        "--recompile",
        "0.01",
        "--stage-delay",
        "0.002",
        "--cold-share",
        "0.003",
        ...extra,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  const results = children.map(async (c) => {
    const r = await outputOf(c);
    if (r.code !== 0) throw new Error(`loader exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop() as string) as LoaderStats;
  });
  await Promise.all(children.map((c) => new Promise((resolve) => c.stderr.once("data", resolve))));
  return {
    async stop() {
      for (const c of children) c.kill("SIGTERM");
      return Promise.all(results);
    },
  };
}

function sum(stats: LoaderStats[]) {
  const exceptions: Record<string, number> = {};
  for (const s of stats) for (const [k, n] of Object.entries(s.exceptions)) exceptions[k] = (exceptions[k] ?? 0) + n;
  return {
    loads: stats.reduce((n, s) => n + s.loads, 0),
    misses: stats.reduce((n, s) => n + s.misses, 0),
    exceptions,
    tracebacks: stats.flatMap((s) => s.tracebacks),
  };
}

/** Folders whose group file offers the metadata but not the binary: Triton crashes on them (KeyError 'cubin'). */
function halfKernels(root: string): string[] {
  const half: string[] = [];
  for (const key of readdirSync(root)) {
    if (key.startsWith(".")) continue;
    const dir = join(root, key);
    for (const g of readdirSync(dir).filter((f) => f.startsWith("__grp__"))) {
      let children: Record<string, string>;
      try {
        children = JSON.parse(readFileSync(join(dir, g), "utf8")).child_paths;
      } catch {
        continue;
      }
      const present = Object.entries(children).filter(([, p]) => existsSync(p));
      const meta = present.some(([c]) => c.endsWith(".json"));
      if (meta && !present.some(([c]) => c.endsWith(".cubin"))) half.push(dir);
    }
  }
  return half;
}

function prune(db: string, args: string[], grace = GRACE): Plan | null {
  const r = mcm(["prune", ...args, "-y", "--grace", grace, "--json"], { db, env: { MCM_IN_FLIGHT_MS: IN_FLIGHT_MS } });
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return r.stdout ? (JSON.parse(r.stdout) as Plan) : null;
}

const MODES: [string, (total: number) => string[]][] = [
  ["IR-only", () => []],
  ["--asm", () => ["--asm"]],
  ["--full", () => ["--full"]],
  ["--max-size", (total) => ["--max-size", String(Math.floor(total / 2))]],
  ["--deduplicate", () => ["--deduplicate"]],
];

/** Runs `body` while the loaders run; stops them whatever happens, and returns what they saw. */
async function whileLoading(root: string, specFile: string, body: () => void) {
  const loaders = await startLoaders(root, specFile);
  let failure: unknown = null;
  try {
    body();
  } catch (e) {
    failure = e;
  }
  const stats = sum(await loaders.stop());
  if (failure) throw failure;
  return stats;
}

describe("prune while programs load the cache (Triton stand-in)", () => {
  it("every mode: no program fails, no half kernel, and what a prune removed is gone", async (t) => {
    const { root, specFile, db } = setup();
    const total = (JSON.parse(mcm(["stats", "--json"], { db }).stdout) as { bytes: number }).bytes;
    let loads = 0;
    for (const [mode, args] of MODES) {
      let runs = 0;
      let planned = 0;
      let removed = 0;
      const s = await whileLoading(root, specFile, () => {
        const end = Date.now() + SECONDS_PER_MODE * 1000;
        while (Date.now() < end) {
          const p = prune(db, args(total));
          runs++;
          planned += p?.entries.length ?? 0;
          removed += p?.freed?.kernels ?? 0;
        }
      });
      loads += s.loads;
      t.diagnostic(
        `${mode}: ${s.loads} loads (${s.misses} compiles), ${runs} prunes planned ${planned} kernels, pruned ${removed}`,
      );
      assert.deepEqual(s.exceptions, {}, `${mode}: ${s.tracebacks.join("\n")}`);
      assert.deepEqual(halfKernels(root), [], mode);
      assert.ok(runs >= 2 && removed > 0, `${mode}: ${runs} prunes removed ${removed} kernels' files`);
      assert.ok(s.misses > 0 || mode === "IR-only" || mode === "--asm", `${mode}: the loaders compiled again`);
      // with the loaders stopped, what a prune says it removed is gone
      await new Promise((r) => setTimeout(r, Number(IN_FLIGHT_MS)));
      const last = prune(db, args(total), "0");
      for (const e of last?.entries ?? []) {
        if (e.action === "remove-kernel") assert.ok(!existsSync(e.path), e.path);
        else for (const f of e.files) assert.ok(!existsSync(join(e.path, f)), join(e.path, f));
      }
    }
    assert.ok(loads >= 20_000, `${loads} loads`);
  });

  it("the same harness catches a naive remover (plain unlink and rename, no unpublishing, no grace)", async (t) => {
    const { root, specFile } = setup();
    const trash = join(tempDir(), "trash");
    let n = 0;
    const s = await whileLoading(root, specFile, () => {
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        // Triton's put() ends with os.removedirs(): once every folder is gone, the root can go too
        let keys: string[] = [];
        try {
          keys = readdirSync(root);
        } catch {
          // gone with the last kernel folder
        }
        for (const key of keys) {
          const dir = join(root, key);
          try {
            if (n++ % 2) renameSync(dir, `${trash}-${n}`);
            else
              for (const f of readdirSync(dir).filter((x) => /\.(ttir|ttgir|llir|source)$/.test(x)))
                unlinkSync(join(dir, f));
          } catch {
            // raced with a loader: the naive remover carries on
          }
        }
      }
    });
    t.diagnostic(`naive remover: ${s.loads} loads, exceptions ${JSON.stringify(s.exceptions)}`);
    assert.ok(Object.keys(s.exceptions).length > 0, `the naive remover broke no load in ${s.loads}`);
  });
});
