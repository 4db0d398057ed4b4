import assert from "node:assert/strict";
import { readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { type CliResult, dbIn, mcm, mcmOnTerminal, userEnv } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, setAge, tempDir } from "../helpers/fixtures.js";
import {
  base32Key,
  hexKey,
  ROCM_KERNEL,
  type SyntheticKernel,
  TRITON2_KERNEL,
  writeKernel,
} from "../helpers/synthetic.js";
import { missing, TOOLS } from "../helpers/tools.js";

after(cleanupTemp);

interface K {
  hash: string;
  name: string;
  backend: string;
  arch: string;
  totalSize: number;
  hits: number;
  tritonVersion: string | null;
  path: string;
  cacheDir: string;
  mode: string;
  modifiedTime: string;
}

let db: string;
let triton: string;
let vllm: string;
let oldKey: string;
/** list --json: exit 0, with kernels or with [] (and one line on stderr) when nothing matches */
function list(...args: string[]): K[] {
  const r = mcm(["list", ...args, "--json"], { db });
  const rows = JSON.parse(r.stdout) as K[];
  assert.equal(r.code, 0, r.stderr);
  if (rows.length === 0) assert.equal(r.stderr, "no kernels match\n");
  return rows;
}
const names = (ks: K[]) => ks.map((k) => k.name).sort();

before(() => {
  const dir = tempDir();
  db = dbIn(dir);
  triton = extractFixture("triton-cache");
  writeKernel(triton, ROCM_KERNEL(base32Key(1), "gfx90a"));
  writeKernel(triton, ROCM_KERNEL(base32Key(2), "gfx942"));
  writeKernel(triton, TRITON2_KERNEL(hexKey(3, 32)));
  // one add_kernel written 30 days ago
  oldKey = readdirSync(triton).find((k) => readdirSync(join(triton, k)).includes("add_kernel.json")) as string;
  setAge(join(triton, oldKey), 30 * 86400_000);
  vllm = extractFixture("vllm-cache");
  assert.equal(mcm(["index", "--cache-dir", triton], { db }).code, 0);
  assert.equal(mcm(["index", "--cache-dir", vllm], { db }).code, 0);
  const sql = new Database(db);
  sql.prepare("UPDATE kernels SET hits = 5 WHERE name = 'softmax_kernel'").run();
  sql.prepare("UPDATE kernels SET hits = 1 WHERE name = 'rocm_add'").run();
  sql.close();
});

describe("mcm list", () => {
  it("--json: every documented key, vLLM entries with vllmHash and rank", () => {
    const all = list();
    assert.equal(all.length, 14 + 3 + 55);
    const keys = [
      "hash",
      "name",
      "backend",
      "arch",
      "warpSize",
      "numWarps",
      "numStages",
      "tritonVersion",
      "totalSize",
      "modifiedTime",
      "cacheDir",
      "path",
      "mode",
      "hits",
      "lastAccess",
      "staleGroupPaths",
    ];
    for (const k of all) for (const key of keys) assert.ok(key in k, `${key} in list --json`);
    const v = all.find((k) => k.mode === "vllm") as unknown as Record<string, unknown>;
    assert.equal(v.vllmHash, "0a1b2c3d4e");
    assert.equal(v.rank, "rank_0_0");
    assert.match(v.modifiedTime as string, /^\d{4}-\d\d-\d\dT/);
    assert.ok(!("vllmHash" in (all.find((k) => k.mode === "triton") as object)));
  });

  it("--name / -n: the exact name, case included; never a part of it", () => {
    assert.deepEqual(names(list("--name", "softmax_kernel")), ["softmax_kernel", "softmax_kernel"]);
    assert.equal(list("-n", "matmul_kernel").length, 6);
    assert.equal(list("-n", "add_kernel").length, 6);
    for (const part of ["kernel", "softmax", "add", "_kernel", "softmax_kerne", "MATMUL_KERNEL", "Add_kernel"]) {
      assert.deepEqual(list("-n", part), [], part);
    }
  });

  it("--name with * or ? is a glob (case included); [ and ] match themselves", () => {
    assert.deepEqual(names(list("-n", "softmax_*")), ["softmax_kernel", "softmax_kernel"]);
    assert.equal(list("-n", "*_kernel", "--cache-dir", triton).length, 15, "14 + legacy_kernel");
    assert.equal(list("-n", "*add*", "--cache-dir", triton).length, 6 + 2, "add_kernel and rocm_add");
    assert.equal(list("-n", "add_kerne?").length, 6);
    assert.equal(list("-n", "?dd_kernel").length, 6);
    assert.deepEqual(list("-n", "add_kernel?"), [], "? is exactly one character");
    assert.deepEqual(list("-n", "ADD_*"), []);
    assert.deepEqual(list("-n", "[a]dd_kernel*"), [], "[a] is not a character class");
    assert.equal(list("-n", "triton_poi_*", "--cache-dir", vllm).length > 10, true);
  });

  it("an empty --name is one clear error line and exit 2", () => {
    const r = mcm(["list", "--name", ""], { db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "mcm: --name needs a kernel name, or a glob with * or ?\n");
  });

  it("--backend / -b, with rocm as another name for hip", () => {
    assert.equal(list("--backend", "hip").length, 2);
    assert.equal(list("-b", "rocm").length, 2);
    assert.equal(list("-b", "cuda", "--cache-dir", triton).length, 15);
  });

  it("--arch / -a: 90, sm90 and gfx names", () => {
    assert.equal(list("--arch", "90", "--cache-dir", triton).length, 14);
    assert.equal(list("-a", "sm90", "--cache-dir", triton).length, 14);
    assert.deepEqual(names(list("-a", "gfx942")), ["rocm_add"]);
  });

  it("--older-than / --younger-than with m, h, d and w", () => {
    const old = list("--older-than", "7d");
    assert.deepEqual(
      old.map((k) => k.hash),
      [oldKey],
    );
    assert.equal(list("--older-than", "2w").length, 1);
    assert.equal(list("--older-than", "5w").length, 0);
    assert.equal(list("--older-than", "744h").length, 0, "31 days");
    assert.equal(list("--older-than", "43000m").length, 1);
    assert.equal(list("--younger-than", "12h").length, 14 + 3 + 55 - 1);
    assert.equal(list("--younger-than", "5w").length, 14 + 3 + 55);
  });

  it("an invalid duration is one clear error line and exit 2", () => {
    const r = mcm(["list", "--older-than", "10 years"], { db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /invalid duration '10 years'/);
  });

  it("--cache-dir and --mode", () => {
    assert.equal(list("--cache-dir", vllm).length, 55);
    assert.equal(list("--mode", "vllm").length, 55);
    assert.equal(list("--mode", "triton").length, 17);
    assert.equal(list("--mode", "inductor").length, 0);
  });

  it("--cache-hit-lower / --cache-hit-higher", () => {
    assert.deepEqual(names(list("--cache-hit-higher", "2")), ["softmax_kernel", "softmax_kernel"]);
    assert.equal(list("--cache-hit-higher", "0").length, 4);
    assert.equal(list("--cache-hit-lower", "1").length, 72 - 4);
    assert.deepEqual(names(list("--cache-hit-lower", "5", "--cache-hit-higher", "0")), ["rocm_add", "rocm_add"]);
  });

  it("--triton-version: exact and by prefix; old kernels have none", () => {
    assert.equal(list("--triton-version", "3.6.0").length, 71);
    assert.equal(list("--triton-version", "3.6").length, 71);
    assert.equal(list("--triton-version", "3.5").length, 0);
    assert.equal(list("-n", "legacy_kernel")[0]?.tritonVersion, null);
  });

  it("filters combine with AND", () => {
    assert.equal(list("-n", "*add*", "-b", "cuda", "--cache-dir", triton).length, 6);
    assert.equal(list("-n", "*add*", "-b", "hip").length, 2);
    assert.equal(list("-n", "*add*", "-b", "hip", "-a", "gfx90a").length, 1);
  });

  it("--sort FIELD[:desc] and --limit", () => {
    const bySize = list("--sort", "size:desc", "--limit", "3");
    assert.equal(bySize.length, 3);
    assert.ok((bySize[0]?.totalSize ?? 0) >= (bySize[1]?.totalSize ?? 0));
    const all = list("--sort", "size");
    assert.ok((all[0]?.totalSize ?? 0) <= (all[all.length - 1]?.totalSize ?? 0));
    assert.equal(list("--sort", "hits:desc", "--limit", "1")[0]?.name, "softmax_kernel");
    const bad = mcm(["list", "--sort", "colour"], { db });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --sort 'colour'/);
  });

  it("the table: short hash, readable sizes and ages, stale marker; nothing matched is exit 0 and one line", () => {
    const r = mcm(["list", "-n", "softmax_kernel"], { db });
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split("\n");
    assert.match(
      lines[0] as string,
      /^HASH\s+NAME\s+BACKEND\s+ARCH\s+TRITON\s+WARPS\s+STAGES\s+SIZE\s+MODIFIED\s+HITS\s+LAST ACCESS$/,
    );
    assert.match(
      lines[1] as string,
      /^[A-Z2-7]{12}\*\s+softmax_kernel\s+cuda\s+90\s+3\.6\.0\s+4\s+3\s+\d+(\.\d)? KiB\s+(\d+ (min|h) ago|just now)\s+5\s+-$/,
    );
    assert.match(r.stdout, /2 kernels, \d+(\.\d)? KiB/);
    assert.match(r.stdout, /stale group paths/);
    for (const args of [
      ["-n", "no-such-kernel"],
      ["-n", "softmax"],
      ["--older-than", "5w"],
    ]) {
      const none = mcm(["list", ...args], { db });
      assert.equal(none.code, 0, args.join(" "));
      assert.equal(none.stdout, "", "prints nothing");
      assert.equal(none.stderr, "no kernels match\n", "says so on stderr, in one line");
      const json = mcm(["list", ...args, "--json"], { db });
      assert.equal(json.code, 0);
      assert.deepEqual(JSON.parse(json.stdout), []);
    }
  });

  it("refreshes a changed root first, so it never shows kernels that are gone", () => {
    const gone = list("-n", "matmul_kernel", "--cache-dir", triton)[0] as K;
    rmSync(gone.path, { recursive: true });
    const after = list("-n", "matmul_kernel");
    assert.equal(after.length, 5);
    assert.ok(!after.some((k) => k.hash === gone.hash));
  });

  it("indexes a --cache-dir that was never indexed", () => {
    const fresh = extractFixture("torchinductor_root");
    assert.equal(list("--cache-dir", fresh).length, 55);
  });
});

describe("roots whose names share a prefix", () => {
  // /x/triton-cache and /x/triton-cache2: a folder is inside a root only below its "/"
  function siblings() {
    const parent = tempDir();
    const a = extractFixture("triton-cache", parent);
    const b = join(parent, "triton-cache2");
    renameSync(extractFixture("triton-cache"), b);
    return { db: dbIn(tempDir()), a, b };
  }

  it("--cache-dir selects its own root's kernels, not its sibling's", () => {
    const { db, a, b } = siblings();
    for (const d of [a, b]) assert.equal(mcm(["index", "--cache-dir", d], { db }).code, 0);
    const rows = JSON.parse(mcm(["list", "--cache-dir", a, "--json"], { db }).stdout) as K[];
    assert.equal(rows.length, 14);
    assert.ok(rows.every((k) => k.cacheDir === a));
    const stats = JSON.parse(mcm(["stats", "--cache-dir", a, "--json"], { db }).stdout) as {
      kernels: number;
      nonKernel: { kind: string; entries: number }[];
    };
    assert.equal(stats.kernels, 14);
    assert.deepEqual(
      stats.nonKernel.map((o) => [o.kind, o.entries]),
      [
        ["launcher", 3],
        ["utils", 1],
        ["autotune", 2],
      ],
    );
  });

  it("a --cache-dir never indexed is indexed, though an indexed root's name is a prefix of it", () => {
    const { db, a, b } = siblings();
    assert.equal(mcm(["index", "--cache-dir", a], { db }).code, 0);
    const rows = JSON.parse(mcm(["list", "--cache-dir", b, "--json"], { db }).stdout) as K[];
    assert.equal(rows.length, 14);
    assert.ok(rows.every((k) => k.cacheDir === b));
  });
});

describe("--triton-version by prefix", () => {
  it("3.1 matches 3.1 and 3.1.x, never 3.10 or 3.11", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    const versions = ["3.1", "3.1.0", "3.1.2", "3.10.0", "3.11.1", "13.1.0"];
    versions.forEach((v, i) => {
      const k: SyntheticKernel = ROCM_KERNEL(base32Key(100 + i));
      writeKernel(root, { ...k, metadata: { ...(k.metadata as object), triton_version: v } });
    });
    assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
    const pick = (v: string) =>
      (JSON.parse(mcm(["list", "--triton-version", v, "--json"], { db }).stdout) as K[])
        .map((k) => k.tritonVersion)
        .sort();
    assert.deepEqual(pick("3.1"), ["3.1", "3.1.0", "3.1.2"]);
    assert.deepEqual(pick("3.1.0"), ["3.1.0"]);
    assert.deepEqual(pick("3.10"), ["3.10.0"]);
  });
});

describe("colours", { skip: missing(TOOLS.script) }, () => {
  it("on a terminal; none with --no-color, NO_COLOR, TERM=dumb or through a pipe", () => {
    const ESC = "\u001b[";
    const args = ["list", "-n", "softmax_kernel"];
    const tty = mcmOnTerminal(args, { db });
    assert.equal(tty.code, 0, tty.stdout);
    assert.ok(tty.stdout.includes(`${ESC}1msoftmax_kernel${ESC}22m`), `names in bold: ${JSON.stringify(tty.stdout)}`);
    const plain: [string, CliResult][] = [
      ["--no-color", mcmOnTerminal(["--no-color", ...args], { db })],
      ["NO_COLOR=1", mcmOnTerminal(args, { db, env: { NO_COLOR: "1" } })],
      ["TERM=dumb", mcmOnTerminal(args, { db, env: { TERM: "dumb" } })],
      ["a pipe", mcm(args, { db, spawn: { env: userEnv(db) } })],
    ];
    for (const [what, r] of plain) {
      assert.equal(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /softmax_kernel/, what);
      assert.ok(!r.stdout.includes(ESC), `${what}: ${JSON.stringify(r.stdout)}`);
    }
  });
});

describe("--name with [ in it", () => {
  it("a name holding [ or ] matches itself, exactly or in a glob", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    for (const [i, name] of ["odd[1]_kernel", "odd1_kernel", "oddx_kernel"].entries()) {
      const k = ROCM_KERNEL(base32Key(200 + i));
      writeKernel(root, { ...k, name, metadata: { ...(k.metadata as object), name } });
    }
    assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
    const pick = (n: string) =>
      (JSON.parse(mcm(["list", "-n", n, "--json"], { db }).stdout) as K[]).map((k) => k.name).sort();
    assert.deepEqual(pick("odd[1]_kernel"), ["odd[1]_kernel"]);
    assert.deepEqual(pick("odd[1]*"), ["odd[1]_kernel"]);
    assert.deepEqual(pick("odd[1x]_kerne?"), [], "no character class");
    assert.deepEqual(pick("odd?_kernel"), ["odd1_kernel", "oddx_kernel"]);
    assert.deepEqual(pick("odd*"), ["odd1_kernel", "odd[1]_kernel", "oddx_kernel"]);
  });
});

describe("text from a cache is escaped in the table", () => {
  it("a name with an OSC title sequence and a newline prints as \\x1b, \\x07 and \\n; --json keeps it", () => {
    const db = dbIn(tempDir());
    const root = tempDir();
    const evil = "evil\u001b]0;pwned\u0007\nname";
    const k = ROCM_KERNEL(base32Key(300));
    writeKernel(root, {
      ...k,
      name: "evil",
      metadata: { ...(k.metadata as object), name: evil, triton_version: "3\r6" },
    });
    assert.equal(mcm(["index", "--cache-dir", root], { db }).code, 0);
    const r = mcm(["list", "--cache-dir", root], { db });
    assert.equal(r.code, 0, r.stderr);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the attack is the control characters
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f]/);
    assert.equal(r.stdout.trim().split("\n").length, 3, "header, one row, the total");
    assert.ok(r.stdout.includes("evil\\x1b]0;pwned\\x07\\nname"), r.stdout);
    assert.ok(r.stdout.includes("3\\r6"), r.stdout);
    const j = JSON.parse(mcm(["list", "--cache-dir", root, "--json"], { db }).stdout) as K[];
    assert.equal(j[0]?.name, evil);
  });
});
