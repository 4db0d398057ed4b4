// prune on vLLM's current compile units (GKM's Llama cache): links, whole
// compile folders, superseded hashes. The inside of an artifact is never touched.
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, FIXTURE_AGE_MS, setAge } from "../helpers/fixtures.js";
import { fileDigests } from "../helpers/tree.js";

after(cleanupTemp);

const TCC = "torch_compile_cache";
const BACKBONE = `${TCC}/edf531ca35/rank_0_0/backbone`;

interface Plan {
  mode: string;
  kernels: number;
  units: number;
  files: number;
  bytes: number;
  entries: { hash: string; path: string; action: string; files: string[]; bytes: number; reason: string }[];
  skipped: { hash: string; reason: string }[];
  freed: { files: number; bytes: number } | null;
}

/** Allocated bytes of a folder's files, each inode once. */
function diskBytes(dir: string): number {
  const seen = new Set<number>();
  let n = 0;
  for (const f of readdirSync(dir)) {
    const st = statSync(join(dir, f));
    if (seen.has(st.ino)) continue;
    seen.add(st.ino);
    n += st.size;
  }
  return n;
}

/** A second hash folder of the same model: vLLM's code (or its config) changed, an older compile. */
function olderHash(root: string, hash: string, edit: [RegExp, string]): string {
  const dir = join(root, TCC, hash);
  cpSync(join(root, TCC, "edf531ca35"), dir, { recursive: true });
  const f = join(dir, "rank_0_0/backbone/cache_key_factors.json");
  writeFileSync(f, readFileSync(f, "utf8").replace(edit[0], edit[1]));
  setAge(dir, 30 * 86_400_000);
  return dir;
}

describe("prune on vLLM compile units", () => {
  it("--deduplicate --link: byte-identical artifacts become hard links; every path reads the same bytes", () => {
    const root = extractFixture("llama-binary-cache");
    const db = dbIn(root);
    const dir = join(root, BACKBONE);
    const before = fileDigests(dir).files;
    const dry = mcm(["prune", "--deduplicate", "--link", "--dry-run", "--json", "--cache-dir", root], { db });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as Plan;
    assert.equal(plan.units, 1);
    assert.equal(plan.files, 13);
    assert.equal(plan.entries[0]?.action, "link-units");
    assert.deepEqual(fileDigests(dir).files, before, "a dry run changes nothing");
    const diskBefore = diskBytes(dir);

    const r = mcm(["prune", "--deduplicate", "--link", "-y", "--json", "--cache-dir", root], { db });
    assert.equal(r.code, 0, r.stderr);
    const done = JSON.parse(r.stdout) as Plan;
    assert.equal(done.freed?.files, 13);
    assert.equal(done.freed?.bytes, 13 * 2112704);
    assert.equal(diskBefore - diskBytes(dir), 13 * 2112704);
    assert.deepEqual(fileDigests(dir).files, before, "every file still reads the same bytes");
    const inodes = new Set(
      readdirSync(dir)
        .filter((n) => n.startsWith("artifact_"))
        .map((n) => statSync(join(dir, n)).ino),
    );
    assert.equal(inodes.size, 4, "14 identical artifacts share one inode; 3 differ");

    // done once: a second run has nothing to link
    const again = mcm(["prune", "--deduplicate", "--link", "-y", "--json", "--cache-dir", root], { db });
    assert.equal(again.code, 0);
    assert.equal((JSON.parse(again.stdout) as Plan).entries.length, 0);
    const list = JSON.parse(mcm(["list", "--json", "--cache-dir", root], { db }).stdout) as unknown[];
    assert.equal(list.length, 16, "the index still sees every embedded kernel");
  });

  it("--deduplicate alone never removes an artifact: vLLM opens each by its path", () => {
    const root = extractFixture("llama-binary-cache");
    const r = mcm(["prune", "--deduplicate", "-y", "--json", "--cache-dir", root], { db: dbIn(root) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Plan).entries.length, 0);
    assert.equal(readdirSync(join(root, BACKBONE)).filter((n) => n.startsWith("artifact_")).length, 17);
  });

  it("IR-only pruning leaves artifacts whole (the kernels inside are not folders)", () => {
    const root = extractFixture("llama-binary-cache");
    const before = fileDigests(join(root, BACKBONE)).files;
    const r = mcm(["prune", "-y", "--json", "--cache-dir", root], { db: dbIn(root) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Plan).entries.length, 0);
    assert.deepEqual(fileDigests(join(root, BACKBONE)).files, before);
  });

  it("--stale removes a hash folder a newer vLLM superseded, and keeps another configuration", () => {
    const root = extractFixture("llama-binary-cache");
    const db = dbIn(root);
    const superseded = olderHash(root, "aaaa000001", [/"code_hash": "a3c7/, '"code_hash": "ffff']);
    const otherConfig = olderHash(root, "bbbb000002", [/"config_hash": "2a38/, '"config_hash": "9999']);
    const r = mcm(["prune", "--stale", "-y", "--grace", "0", "--json", "--cache-dir", root], { db });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as Plan;
    assert.deepEqual(
      plan.entries.map((e) => [e.hash, e.action]),
      [["aaaa000001", "remove-unit"]],
    );
    assert.match(plan.entries[0]?.reason ?? "", /superseded by edf531ca35 .*code_hash ffff207924 -> a3c7207924/);
    assert.match(plan.skipped.map((s) => `${s.hash}: ${s.reason}`).join("\n"), /bbbb000002: .*another configuration/);
    assert.equal(existsSync(superseded), false, "the hash folder went with its only compile folder");
    assert.equal(existsSync(otherConfig), true);
    assert.equal(existsSync(join(root, BACKBONE, "vllm_compile_cache.py")), true);
    const list = JSON.parse(mcm(["list", "--json", "--cache-dir", root], { db }).stdout) as { vllmHash: string }[];
    assert.deepEqual([...new Set(list.map((k) => k.vllmHash))].sort(), ["bbbb000002", "edf531ca35"]);
  });

  it("--full removes whole compile folders by age; a folder vLLM wrote in the last minute is kept", () => {
    const root = extractFixture("llama-binary-cache");
    const db = dbIn(root);
    olderHash(root, "aaaa000001", [/"code_hash": "a3c7/, '"code_hash": "ffff']);
    const old = mcm(["prune", "--full", "--older-than", "7d", "-y", "--grace", "0", "--json", "--cache-dir", root], {
      db,
    });
    assert.equal(old.code, 0, old.stderr);
    assert.deepEqual(
      (JSON.parse(old.stdout) as Plan).entries.map((e) => e.hash),
      ["aaaa000001"],
    );
    assert.deepEqual(readdirSync(join(root, TCC)), ["edf531ca35"]);

    setAge(join(root, BACKBONE), 1_000); // vLLM just wrote it
    const fresh = mcm(["prune", "--full", "-y", "--json", "--cache-dir", root], { db });
    assert.equal(fresh.code, 0, fresh.stderr);
    const plan = JSON.parse(fresh.stdout) as Plan;
    assert.equal(plan.entries.length, 0);
    assert.match(plan.skipped[0]?.reason ?? "", /vLLM may still be writing it/);
    setAge(join(root, BACKBONE), FIXTURE_AGE_MS);
  });

  it("a compile folder vLLM writes into during the grace period is left whole, its vllm_compile_cache.py back", async () => {
    const root = extractFixture("llama-binary-cache");
    const db = dbIn(root);
    const dir = join(root, BACKBONE);
    const { mcmAsync } = await import("../helpers/cli.js");
    const run = mcmAsync(["prune", "--full", "-y", "--grace", "1500ms", "--json", "--cache-dir", root], { db });
    // vLLM starting meanwhile finds no vllm_compile_cache.py, compiles, and writes a new artifact
    for (let i = 0; i < 100 && existsSync(join(dir, "vllm_compile_cache.py")); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(join(dir, "vllm_compile_cache.py")), false, "unpublished first");
    writeFileSync(join(dir, "artifact_compile_range_2049_4096_subgraph_0"), "new");
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const warnings = (JSON.parse(r.stdout) as { warnings: { message: string }[] }).warnings;
    assert.match(warnings.map((w) => w.message).join("\n"), /written since it was unpublished/);
    assert.equal(readdirSync(dir).filter((n) => n.startsWith("artifact_")).length, 18);
    assert.equal(existsSync(join(dir, "vllm_compile_cache.py")), true, "put back");
  });
});
