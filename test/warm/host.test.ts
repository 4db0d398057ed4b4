// `mcm warm -- COMMAND`: a real command fills the caches mcm points it at.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { dbIn, mcm } from "../helpers/cli.js";
import { cleanupTemp, extractFixture, tempDir } from "../helpers/fixtures.js";
import { snapshot } from "../helpers/tree.js";

after(cleanupTemp);

/** A small workload: writes a Triton-shaped cache (a real H100 one) where TRITON_CACHE_DIR says. */
const WORKLOAD = `
import os, shutil, sys
src = sys.argv[1]
dst = os.environ["TRITON_CACHE_DIR"]
for name in sorted(os.listdir(src)):
    shutil.copytree(os.path.join(src, name), os.path.join(dst, name))
print("workload: inductor at", os.environ["TORCHINDUCTOR_CACHE_DIR"], "vllm at", os.environ["VLLM_CACHE_ROOT"])
print("workload: extra", os.environ.get("EXTRA"))
if len(sys.argv) > 2:
    print("workload: failing on purpose", file=sys.stderr)
    sys.exit(int(sys.argv[2]))
`;

function setup() {
  const dir = tempDir();
  const script = join(dir, "workload.py");
  writeFileSync(script, WORKLOAD);
  return { script, source: extractFixture("triton-cache"), host: tempDir(), db: dbIn(tempDir()) };
}

describe("mcm warm -- COMMAND (host mode)", () => {
  it("captures and indexes what the command compiled, with the manifest", () => {
    const s = setup();
    const r = mcm(
      ["warm", "--host-cache-dir", s.host, "--env", "EXTRA=42", "--json", "--", "python3", s.script, s.source],
      { db: s.db },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      folder: string;
      kernels: number;
      caches: { path: string; kernels: number }[];
    };
    assert.match(out.folder, /\/cache_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
    assert.equal(out.kernels, 14);
    assert.deepEqual(
      out.caches.map((c) => [c.path, c.kernels]),
      [["triton", 14]],
    );
    assert.deepEqual(snapshot(join(out.folder, "triton")), snapshot(s.source));
    // the command saw the capture folder, and its output went to stderr (stdout is mcm's JSON)
    assert.match(r.stderr, new RegExp(`workload: inductor at ${out.folder}/inductor vllm at ${out.folder}/vllm`));
    assert.match(r.stderr, /workload: extra 42/);
    const m = JSON.parse(readFileSync(join(out.folder, "mcm-warm.json"), "utf8"));
    assert.equal(m.mode, "host");
    assert.deepEqual(m.command, ["python3", s.script, s.source]);
    assert.equal(m.model, null);
    assert.equal(m.image, null);
    assert.match(m.python, /^3\./, "versions read with the host's python3");
    // the factors the runtimes hash, as python/mcm_probe.py reported them there (no Triton here: said why)
    assert.equal(m.probe.format, "mcm-probe/1");
    assert.match(m.probe.triton.error ?? "", /No module named 'triton'|ModuleNotFoundError/);
    // the index knows the new cache
    const list = mcm(["list", "--cache-dir", join(out.folder, "triton"), "--json"], { db: s.db });
    assert.equal(JSON.parse(list.stdout).length, 14);
  });

  it("--tarball packs the one cache the command filled, with the warm manifest, ready to import", () => {
    const s = setup();
    const out = join(tempDir(), "w.tar.gz");
    const r = mcm(
      ["warm", "--host-cache-dir", s.host, "--tarball", "-o", out, "--json", "--", "python3", s.script, s.source],
      {
        db: s.db,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).archive.holds, "triton");
    const dest = join(tempDir(), "cache");
    const imp = mcm(["import", out, "--cache-dir", dest], { db: s.db });
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(JSON.parse(readFileSync(join(dest, "mcm-warm.json"), "utf8")).mode, "host");
    const stats = JSON.parse(mcm(["stats", "--cache-dir", dest, "--json"], { db: s.db }).stdout);
    assert.equal(stats.kernels, 14);
    assert.equal(stats.staleGroupPaths, 0);
  });

  it("--tarball with several caches filled packs the capture folder; import indexes each cache with its layout", () => {
    const s = setup();
    const inductor = extractFixture("torchinductor_root");
    const script = join(tempDir(), "two.py");
    writeFileSync(
      script,
      "import os, shutil, sys\n" +
        "shutil.copytree(sys.argv[1], os.environ['TRITON_CACHE_DIR'], dirs_exist_ok=True)\n" +
        "shutil.copytree(sys.argv[2], os.environ['TORCHINDUCTOR_CACHE_DIR'], dirs_exist_ok=True)\n",
    );
    const out = join(tempDir(), "w.tar.gz");
    const r = mcm(
      [
        "warm",
        "--host-cache-dir",
        s.host,
        "--tarball",
        "-o",
        out,
        "--json",
        "--",
        "python3",
        script,
        s.source,
        inductor,
      ],
      {
        db: s.db,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.archive.holds, ".");
    assert.equal(res.kernels, 69);
    const dest = join(tempDir(), "dest");
    const imp = mcm(["import", out, "--cache-dir", dest, "--json"], { db: s.db });
    assert.equal(imp.code, 0, imp.stderr);
    assert.deepEqual(JSON.parse(imp.stdout).indexed, { kernels: 69, staleGroupPaths: 0 });
    // the same files; group files differ only by the paths import rewrote
    const noGroups = (d: string) => snapshot(d).filter((l) => !l.includes("/__grp__"));
    assert.deepEqual(noGroups(join(dest, "triton")), noGroups(join(res.folder, "triton")));
  });

  it("a failing command: exit 2 with its last lines; what it wrote is kept", () => {
    const s = setup();
    const r = mcm(["warm", "--host-cache-dir", s.host, "--", "python3", s.script, s.source, "3"], { db: s.db });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /mcm: the command \(python3\) exited with code 3; its last lines:\n(.*\n)*.*failing on purpose/,
    );
    assert.match(r.stderr, /what the workload wrote is kept in .*cache_/);
    assert.equal(readdirSync(s.host).length, 1);
  });

  it("a command that does not exist: one line, exit 2, no folder left", () => {
    const s = setup();
    const r = mcm(["warm", "--host-cache-dir", s.host, "--", "mcm-no-such-command"], { db: s.db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "mcm: cannot run mcm-no-such-command: command not found\n");
    assert.deepEqual(readdirSync(s.host), []);
  });

  it("--timeout stops the command and its children", () => {
    const s = setup();
    const t0 = Date.now();
    const r = mcm(["warm", "--host-cache-dir", s.host, "--timeout", "1s", "--", "sh", "-c", "sleep 73 & sleep 73"], {
      db: s.db,
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /mcm: timed out after 1s: the command \(sh\) stopped/);
    assert.ok(Date.now() - t0 < 20_000);
    const left = readdirSync("/proc")
      .filter((x) => /^\d+$/.test(x))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim() === "sleep 73";
        } catch {
          return false;
        }
      });
    assert.deepEqual(left, [], "the background child was stopped too");
  });

  it("container flags with a command are refused", () => {
    const s = setup();
    const r = mcm(["warm", "--model", "x", "--rocm", "--", "true"], { db: s.db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "mcm: --model, --rocm only apply to container mode, not with -- COMMAND (host mode)\n");
  });

  it("--dry-run shows the command and the variables, and runs nothing", () => {
    const s = setup();
    const r = mcm(["warm", "--host-cache-dir", s.host, "--dry-run", "--json", "--", "python3", s.script, s.source], {
      db: s.db,
    });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { command: string[]; env: Record<string, string> };
    assert.deepEqual(plan.command, ["python3", s.script, s.source]);
    assert.match(plan.env.TRITON_CACHE_DIR as string, /cache_.*\/triton$/);
    assert.deepEqual(readdirSync(s.host), []);
  });

  it("--dry-run shows secret-looking variables as <redacted>, as text and as JSON", () => {
    const s = setup();
    const secrets = ["--env", "VLLM_API_KEY=sekrit1", "--env", "GH_TOKEN=sekrit2", "--env", "EXTRA=shown"];
    const args = ["warm", "--host-cache-dir", s.host, "--dry-run", ...secrets];
    const human = mcm([...args, "--", "true"], { db: s.db });
    assert.equal(human.code, 0, human.stderr);
    assert.ok(!human.stdout.includes("sekrit"), human.stdout);
    assert.match(human.stdout, /env: VLLM_API_KEY=<redacted>\n/);
    assert.match(human.stdout, /env: GH_TOKEN=<redacted>\n/);
    assert.match(human.stdout, /env: EXTRA=shown\n/);
    const json = mcm([...args, "--json", "--", "true"], { db: s.db });
    assert.equal(json.code, 0, json.stderr);
    assert.ok(!json.stdout.includes("sekrit"));
    assert.equal(JSON.parse(json.stdout).env.VLLM_API_KEY, "<redacted>");
  });

  it("--env NAME (no value) passes NAME from mcm's environment, so the value is in no argv", () => {
    const s = setup();
    const r = mcm(["warm", "--host-cache-dir", s.host, "--env", "EXTRA", "--", "python3", s.script, s.source], {
      db: s.db,
      env: { EXTRA: "from-env-42" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /workload: extra from-env-42/);
    const unset = mcm(["warm", "--host-cache-dir", s.host, "--env", "MCM_UNSET_VAR", "--", "true"], { db: s.db });
    assert.equal(unset.code, 2);
    assert.equal(unset.stderr, "mcm: --env MCM_UNSET_VAR: MCM_UNSET_VAR is not set in mcm's environment\n");
  });
});
