import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm, mcmJson } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { kernelFolders, samePicklesMoved, snapshot } from "../helpers/tree.js";

after(cleanupTemp);

interface Kernel {
  path: string;
  staleGroupPaths: boolean;
  warnings: number;
}

/** Every child path of every group file of the kernels under `dirs`. */
function groupPaths(kernels: string[]): string[] {
  return kernels.flatMap((k) =>
    readdirSync(k)
      .filter((f) => f.startsWith("__grp__"))
      .flatMap((f) =>
        Object.values(
          (JSON.parse(readFileSync(join(k, f), "utf8")) as { child_paths: Record<string, string> }).child_paths,
        ),
      ),
  );
}

describe("mcm relocate", () => {
  for (const fixture of ["triton-cache", "torchinductor_root", "vllm-cache"] as const) {
    it(`${fixture} extracted anywhere: every group path stale before, none after`, () => {
      const db = dbIn(tempDir());
      const root = extractFixture(fixture);
      const before = mcmJson<Kernel[]>(["list", "--cache-dir", root], { db });
      assert.ok(before.length > 0);
      assert.ok(
        before.every((k) => k.staleGroupPaths),
        "the fixture points at /tmp/mcm-fixtures",
      );
      const plan = mcmJson<{
        groupFiles: number;
        applied: boolean;
        roots: { entries: { kind: string; rewritten: number }[] }[];
      }>(["relocate", "--cache-dir", root, "-y"], { db });
      assert.equal(plan.applied, true);
      assert.equal(plan.groupFiles, before.length);
      const after = mcmJson<Kernel[]>(["list", "--cache-dir", root], { db });
      assert.equal(after.length, before.length);
      assert.ok(after.every((k) => !k.staleGroupPaths));
      const paths = groupPaths(after.map((k) => k.path));
      const groupPathsRewritten = plan.roots
        .flatMap((r) => r.entries)
        .filter((e) => e.kind === "group")
        .reduce((n, e) => n + e.rewritten, 0);
      assert.equal(paths.length, groupPathsRewritten);
      for (const p of paths) assert.ok(p.startsWith(`${root}/`) && existsSync(p), p);
      const stats = mcmJson<{ staleGroupPaths: number }>(["stats", "--cache-dir", root], { db });
      assert.equal(stats.staleGroupPaths, 0);
      assert.ok(!snapshot(root).some((l) => l.includes(".mcm")), "no temp file or lock left");
    });
  }

  it("torchinductor_root: the autotuners' pickled code paths point at the new root; Python reads the entries as before otherwise", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("torchinductor_root");
    const original = extractFixture("torchinductor_root");
    const plan = mcmJson<{ inductorEntries: number; roots: { entries: { kind: string; rewritten: number }[] }[] }>(
      ["relocate", "--cache-dir", root, "-y"],
      { db },
    );
    // 3 FX graphs with 20, 18 and 17 statically launched autotuner paths (kernel .py and .best_config)
    const entries = plan.roots[0]?.entries.filter((e) => e.kind === "inductor-entry") ?? [];
    assert.deepEqual(entries.map((e) => e.rewritten).sort(), [17, 18, 20]);
    assert.equal(plan.inductorEntries, 3);
    assert.equal(samePicklesMoved(original, root), "equal 5", "3 FX graphs and 2 AOTAutograd entries compared");
    const again = mcm(["relocate", "--cache-dir", root, "-y"], { db });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /nothing to relocate/);
  });

  it("a cache moved after relocating is found stale again and relocated again; then nothing to do (exit 0)", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    assert.equal(mcm(["relocate", "--cache-dir", root, "-y"], { db }).code, 0);
    const moved = join(tempDir(), "moved");
    renameSync(root, moved);
    const r = mcm(["relocate", "--cache-dir", moved, "-y"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Rewrote 14 group files/);
    for (const p of groupPaths(kernelFolders(moved).map((k) => join(moved, k)))) assert.ok(p.startsWith(`${moved}/`));
    const before = snapshot(moved);
    for (const args of [["-y"], ["--dry-run"], ["-y", "--json"]]) {
      const again = mcm(["relocate", "--cache-dir", moved, ...args], { db });
      assert.equal(again.code, 0, `${args.join(" ")}: ${again.stderr}`);
      assert.equal(again.stderr, "no group file or cache entry points elsewhere: nothing to relocate\n");
      if (args.includes("--json")) {
        const j = JSON.parse(again.stdout) as { groupFiles: number; applied: boolean };
        assert.deepEqual([j.groupFiles, j.applied], [0, false]);
      } else assert.equal(again.stdout, "");
    }
    assert.deepEqual(snapshot(moved), before);
  });

  it("--dry-run prints the plan and changes nothing; without a terminal it needs -y", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const before = snapshot(root).map(
      (l) => `${l} ${readFileSync(join(root, l.split(" ")[0] as string), "utf8").length}`,
    );
    const dry = mcm(["relocate", "--cache-dir", root, "--dry-run"], { db });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Plan: rewrite 14 group files \(98 paths\)/);
    assert.match(dry.stdout, /Dry run: nothing was changed/);
    const noTty = mcm(["relocate", "--cache-dir", root], { db });
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /pass --yes/);
    assert.deepEqual(
      snapshot(root).map((l) => `${l} ${readFileSync(join(root, l.split(" ")[0] as string), "utf8").length}`),
      before,
    );
  });

  it("leaves a path that points outside its kernel as it is, still flagged", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const [key] = kernelFolders(root);
    const dir = join(root, key as string);
    const grp = readdirSync(dir).find((f) => f.startsWith("__grp__")) as string;
    const g = JSON.parse(readFileSync(join(dir, grp), "utf8")) as { child_paths: Record<string, string> };
    const [first] = Object.keys(g.child_paths);
    g.child_paths[first as string] = "/etc/passwd";
    writeFileSync(join(dir, grp), JSON.stringify(g));
    const r = mcmJson<{ left: number }>(["relocate", "--cache-dir", root, "-y"], { db });
    assert.equal(r.left, 1);
    const after = JSON.parse(readFileSync(join(dir, grp), "utf8")) as { child_paths: Record<string, string> };
    assert.equal(after.child_paths[first as string], "/etc/passwd");
    const k = mcmJson<Kernel[]>(["list", "--cache-dir", root], { db }).find((x) => x.path === dir);
    assert.equal(k?.staleGroupPaths, true);
    assert.ok((k?.warnings ?? 0) > 0);
  });

  it("leaves a path into another kernel's folder as it is, though it names a file this kernel has", () => {
    const db = dbIn(tempDir());
    const root = extractFixture("triton-cache");
    const [key, other] = kernelFolders(root) as [string, string];
    const dir = join(root, key);
    const grp = readdirSync(dir).find((f) => f.startsWith("__grp__")) as string;
    const g = JSON.parse(readFileSync(join(dir, grp), "utf8")) as { child_paths: Record<string, string> };
    const files = Object.keys(g.child_paths);
    const [first] = files as [string];
    const elsewhere = join(root, other, first);
    g.child_paths[first] = elsewhere;
    writeFileSync(join(dir, grp), JSON.stringify(g));
    const r = mcmJson<{ left: number; roots: { entries: { kernel: string; rewritten: number; left: number }[] }[] }>(
      ["relocate", "--cache-dir", root, "-y"],
      { db },
    );
    assert.equal(r.left, 1);
    const entry = r.roots[0]?.entries.find((e) => e.kernel === dir);
    assert.deepEqual([entry?.rewritten, entry?.left], [files.length - 1, 1]);
    const after = JSON.parse(readFileSync(join(dir, grp), "utf8")) as { child_paths: Record<string, string> };
    assert.equal(after.child_paths[first], elsewhere);
    for (const f of files.slice(1)) assert.equal(after.child_paths[f], join(dir, f));
    const k = mcmJson<Kernel[]>(["list", "--cache-dir", root], { db }).find((x) => x.path === dir);
    assert.equal(k?.staleGroupPaths, true);
  });
});

describe("mcm relocate and import on vLLM compile units", () => {
  /** The artifact paths of a vllm_compile_cache.py, as Python reads them. */
  function handlePaths(file: string): string[] {
    const script =
      "import ast,json,sys; print(json.dumps([v[1] for v in ast.literal_eval(open(sys.argv[1]).read()).values()]))";
    return JSON.parse(execFileSync("python3", ["-c", script, file], { encoding: "utf8" })) as string[];
  }
  const BACKBONE = "torch_compile_cache/edf531ca35/rank_0_0/backbone";

  it("relocate points vllm_compile_cache.py at the artifacts where they are (vLLM loads those paths as written)", () => {
    const root = extractFixture("llama-binary-cache");
    const db = dbIn(tempDir());
    const file = join(root, BACKBONE, "vllm_compile_cache.py");
    assert.ok(handlePaths(file).every((p) => p.startsWith("/home/ec2-user/.cache/vllm/")));
    const stale = () => mcmJson<{ staleVllmIndexFiles: number }>(["stats", "--cache-dir", root], { db });
    assert.equal(stale().staleVllmIndexFiles, 1, "stats says the cache was moved");
    const dry = mcmJson<{ vllmIndexFiles: number; paths: number }>(["relocate", "--cache-dir", root, "--dry-run"], {
      db,
    });
    assert.deepEqual([dry.vllmIndexFiles, dry.paths], [1, 17]);
    const r = mcm(["relocate", "--cache-dir", root, "-y"], { db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Rewrote 0 group files and 1 vllm_compile_cache.py file\./);
    const paths = handlePaths(file);
    assert.equal(paths.length, 17);
    for (const p of paths) {
      assert.equal(p.slice(0, p.lastIndexOf("/")), join(root, BACKBONE));
      assert.ok(existsSync(p), p);
    }
    const again = mcm(["relocate", "--cache-dir", root, "-y"], { db });
    assert.match(again.stderr, /nothing to relocate/);
    assert.equal(stale().staleVllmIndexFiles, 0);
  });

  it("import points it at the destination", () => {
    const root = extractFixture("llama-binary-cache");
    const db = dbIn(tempDir());
    const out = join(tempDir(), "llama.tar.gz");
    assert.equal(mcm(["export", "--cache-dir", root, "-o", out], { db }).code, 0);
    const dest = join(tempDir(), "moved");
    const r = mcmJson<{ vllmIndexFilesRewritten: number }>(["import", out, "--cache-dir", dest], { db });
    assert.equal(r.vllmIndexFilesRewritten, 1);
    for (const p of handlePaths(join(dest, BACKBONE, "vllm_compile_cache.py"))) {
      assert.ok(p.startsWith(`${dest}/${BACKBONE}/`), p);
      assert.ok(existsSync(p), p);
    }
  });
});
