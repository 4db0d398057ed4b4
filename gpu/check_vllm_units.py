#!/usr/bin/env python3
"""Real-GPU check of what mcm does to vLLM compile units (issue 12). Standard library + torch.

On the artifacts PyTorch 2.11 made on an H200 (test/fixtures/h200-vllm-artifacts.tar.gz, made by
make_artifacts.py), with one byte-identical copy added, as vLLM writes identical layers:

  1. mcm index: the kernels mcm says each unit embeds;
  2. mcm prune --deduplicate --link -y: the identical copy becomes a hard link;
  3. mcm export, then mcm import at another path (the original renamed away);
  4. each unit at the new path loaded by PyTorch in a fresh process with empty caches
     (make_artifacts.py's load phase), run, and compared with eager.

It checks that every unit still loads and computes the same results after linking and moving,
and that the kernels PyTorch restores from it are exactly those mcm listed for it.

Run on the GPU machine with `mcm` on PATH (see check_move.py for carrying it):
    python3 gpu/check_vllm_units.py [OUT_DIR]
Writes OUT_DIR/vllm-units-check-h200.json. Exits 0 when every check held, 1 otherwise.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", "/tmp/out")
WORK = "/tmp/mcm-vllm-units"
os.environ["MCM_ART_WORK"] = WORK  # make_artifacts' load phases keep their caches here
sys.path.insert(0, HERE)
import make_artifacts as M  # noqa: E402

TRUTH = json.load(open(os.path.join(HERE, "results", "vllm-artifacts-h200.json")))
FIXTURE = os.path.join(REPO, "test", "fixtures", "h200-vllm-artifacts.tar.gz")
DB = os.path.join(WORK, "mcm.db")
R = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "steps": [], "units": {}}


def mcm(*args):
    t = time.time()
    p = subprocess.run(["mcm", "--db", DB, *args], capture_output=True, text=True)
    R["steps"].append({"argv": ["mcm", *args], "rc": p.returncode, "seconds": round(time.time() - t, 2),
                       "stdout": p.stdout[-3000:], "stderr": p.stderr[-2000:]})
    if p.returncode != 0:
        raise SystemExit(f"mcm {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p.stdout


def spec_for(rel):
    """The load spec make_artifacts used for the original artifact that `rel` is (or copies)."""
    name = {"vllm-standalone": {"_0": "load_std0", "_1": "load_std1", "_2": "load_std0"},
            "vllm-unpacked": {"_0": "load_unp0"}, "vllm-standalone-aotmode": {"_0": "load_saot0"},
            "vllm-aot": {"": "load_aot"}}[rel.split("/")[0]]
    key = next(k for k in name if rel.endswith(f"subgraph{k}") or (k == "" and rel.endswith("/model")))
    return dict(TRUTH["phases"][name[key]]["result"]["spec"])


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(OUT, exist_ok=True)
    orig = os.path.join(WORK, "orig")
    with tarfile.open(FIXTURE) as tf:
        tf.extractall(orig)
    std = os.path.join(orig, "vllm-standalone")
    backbone = next(os.path.join(d, f) for d, dirs, files in os.walk(std) for f in dirs if f == "backbone")
    shutil.copy(os.path.join(backbone, "artifact_compile_range_1_512_subgraph_0"),
                os.path.join(backbone, "artifact_compile_range_1_512_subgraph_2"))
    ok = True
    moved_root = os.path.join(WORK, "moved")
    for top in sorted(os.listdir(orig)):
        src = os.path.join(orig, top)
        # an hour old: prune leaves what was written in the last minute
        past = time.time() - 3600
        for d, _, files in os.walk(src):
            for f in files:
                os.utime(os.path.join(d, f), (past, past))
        mcm("index", "--cache-dir", src)
        mcm("prune", "--deduplicate", "--link", "-y", "--cache-dir", src)
        archive = os.path.join(WORK, f"{top}.tar.gz")
        mcm("export", "--cache-dir", src, "-o", archive)
        dest = os.path.join(moved_root, top)
        mcm("import", archive, "--cache-dir", dest)
        os.rename(src, src + ".away")  # nothing may read the old place
        db = sqlite3.connect(DB)
        units = db.execute("SELECT path, format, kernels FROM units WHERE root = ?", (dest,)).fetchall()
        db.close()
        inodes = {}
        for path, fmt, kernels in units:
            rel = os.path.relpath(path, moved_root)
            spec = spec_for(rel)
            spec["path"] = path
            if os.path.isfile(path):
                inodes.setdefault(os.stat(path).st_ino, []).append(rel)
            run = M.run_phase("load_" + rel.replace("/", "_")[-80:], spec, 300)
            res = run.get("result") or {}
            restored = sorted((res.get("kernels_after_load") or {}).get("distinct_hashes") or [])
            listed = sorted(json.loads(kernels))
            runs_ok = bool(res.get("runs")) and all(r.get("ok") for r in res["runs"])
            good = bool(res.get("load_ok")) and runs_ok and restored == listed and not res.get("recompiled")
            ok &= good
            R["units"][rel] = {"format": fmt, "load_ok": res.get("load_ok"), "runs_ok": runs_ok,
                               "recompiled": res.get("recompiled"), "listed_by_mcm": listed,
                               "restored_by_pytorch": restored, "same": restored == listed, "ok": good,
                               "load_error": res.get("load_error"), "log_tail": run.get("log_tail")}
            print(f"{rel}: mcm {len(listed)} pytorch {len(restored)} runs_ok {runs_ok} ok {good}", flush=True)
        if top == "vllm-standalone":
            shared = [v for v in inodes.values() if len(v) > 1]
            R["hard_linked_after_import"] = shared
            ok &= any(len(v) == 2 for v in shared)
    R["ok"] = ok
    R["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    json.dump(R, open(os.path.join(OUT, "vllm-units-check-h200.json"), "w"), indent=1)
    print("ok" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
