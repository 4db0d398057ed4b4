"""Real-GPU check for issue 13: moved Inductor caches, and `mcm explain`. Standard library only.

1. Moved Inductor cache. The `inductor` workload of workloads.py warms a cache here,
   which then moves to another path while the original is renamed away:
     copy   `cp -a`, no mcm (the control: what users did before)
     mcm    `mcm export` + `mcm import` (mcm points the pickled autotuner paths at the new root)
   each with the old path absent, and with a plain file standing where it was.
   Measured per run: FX-graph cache hits and misses (Inductor's own counters), whether
   the program crashed, every file created at the old path, files written in the new cache.
2. Prediction. The H100 Inductor fixture (test/fixtures) is imported; `mcm explain` and
   `mcm check` say per level what will hit; then the workload runs and its counters,
   Triton lookups (mcm's hit tracker) and newly compiled kernels say what did.
3. Controls. A Triton cache warmed by `mcm warm` (which records the probe), then
   explained and rerun with a variable Triton hashes set; and explain under a
   stand-in triton/torch on PYTHONPATH (test/check/standin) claiming other versions.

Run on a machine with a GPU, Triton and PyTorch, with `mcm` on PATH (see gpu/check_move.py):
    python3 gpu/check_explain.py [OUT_DIR]     (default: $OUT, else /tmp/out)
Writes OUT_DIR/explain-check.json. Exits 0 when every expectation held, 1 when one did not,
2 when a step failed.
"""
import json, os, shutil, subprocess, sys, tempfile, time, traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT") or "/tmp/out"
WORK = os.environ.get("EXPLAIN_WORK", "/tmp/mcm-explain-check")
WORKLOAD = os.path.join(HERE, "workloads.py")
T0 = time.time()
res = {"work": WORK, "moved": {}, "prediction": {}, "controls": {}, "expectations": [], "steps": []}

# Runs the workload, then prints Inductor's counters: FX-graph hits and misses, static autotuners loaded.
COUNTING_RUNNER = r'''
import json, runpy, sys
sys.argv = [sys.argv[1]] + sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    from torch._dynamo.utils import counters
    print("COUNTERS " + json.dumps({k: dict(v) for k, v in counters.items() if k in ("inductor", "aot_autograd")}))
'''


def log(msg):
    line = "[%7.1fs] %s" % (time.time() - T0, msg)
    print(line, flush=True)
    res["steps"].append(line)


class StepFailed(Exception):
    pass


def sh(argv, env=None, timeout=600, ok=(0,)):
    log("$ " + " ".join(argv))
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if ok is not None and p.returncode not in ok:
        log("  exit %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-800:]))
        raise StepFailed("%s exited %d" % (argv[:2], p.returncode))
    return p


MCM_ENV = dict(os.environ, MCM_DB=os.path.join(WORK, "index.db"), NO_COLOR="1")


def mcm(*args, env=None, ok=(0,)):
    return sh(["mcm", *args], env=dict(MCM_ENV, **(env or {})), ok=ok)


def mcm_json(*args, env=None):
    return json.loads(mcm(*args, "--json", env=env).stdout)


def expect(name, ok, detail):
    res["expectations"].append({"name": name, "ok": bool(ok), "detail": detail})
    log(("OK   " if ok else "FAIL ") + name + ": " + json.dumps(detail)[:400])


def files_under(root):
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".mcm")]
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def written(before, after):
    return sorted(k for k, v in after.items() if before.get(k) != v)


RUNNER = os.path.join(WORK, "counting_runner.py")


def run_workload(kind, inductor_dir, extra_env=None, tracker_log=None):
    """Runs the workload with its caches at inductor_dir; returns counters, crash and timing."""
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=inductor_dir, **(extra_env or {}))
    env.pop("TRITON_CACHE_DIR", None)  # Inductor's own: <inductor_dir>/triton/<device>
    if tracker_log:
        env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
        env["TRITON_CACHE_MANAGER"] = "mcm_tracker:TrackingCacheManager"
        env["MCM_HITS_DIR"] = tracker_log
    t = time.time()
    p = sh([sys.executable, RUNNER, WORKLOAD, kind], env=env, ok=None)
    counters = {}
    for line in p.stdout.splitlines():
        if line.startswith("COUNTERS "):
            counters = json.loads(line[len("COUNTERS "):])
    ind = counters.get("inductor", {})
    out = {
        "exit": p.returncode,
        "wall_s": round(time.time() - t, 2),
        "fxgraph_hit": ind.get("fxgraph_cache_hit", 0),
        "fxgraph_miss": ind.get("fxgraph_cache_miss", 0),
        "static_autotuners_loaded": ind.get("triton_bundler_load_static_autotuner", 0),
        "error": (p.stderr.strip().splitlines() or [""])[-1][:400] if p.returncode else None,
    }
    if tracker_log:
        looks = []
        for f in sorted(os.listdir(tracker_log)) if os.path.isdir(tracker_log) else []:
            with open(os.path.join(tracker_log, f)) as fh:
                looks += [json.loads(l) for l in fh if l.strip()]
        out["lookups"] = [{"key": x.get("key"), "hit": bool(x.get("hit"))} for x in looks]
    log("  run: " + json.dumps({k: v for k, v in out.items() if k != "lookups"}))
    return out


def kernel_dirs(inductor_dir):
    t = os.path.join(inductor_dir, "triton", "0")
    return set(os.listdir(t)) if os.path.isdir(t) else set()


# --- 1. moved Inductor caches ------------------------------------------------------------

def moved_cache():
    orig = os.path.join(WORK, "a", "inductor")
    os.makedirs(os.path.dirname(orig), exist_ok=True)
    cold = run_workload("inductor", orig)
    warm = run_workload("inductor", orig)
    res["moved"]["cold"], res["moved"]["warm"] = cold, warm
    archive = os.path.join(WORK, "inductor.tgz")
    mcm("export", "--cache-dir", orig, "-o", archive)
    away = orig + ".away"
    for how in ("copy", "mcm"):
        for old in ("absent", "blocked"):
            name = "%s-old-%s" % (how, old)
            dest = os.path.join(WORK, name, "inductor")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            info = {}
            if how == "copy":
                shutil.copytree(orig, dest, symlinks=True)
            else:
                r = mcm_json("import", archive, "--cache-dir", dest)
                info = {k: r.get(k) for k in ("inductorEntriesRewritten", "inductorPathsRewritten", "notRewritten")}
            os.rename(orig, away)
            try:
                if old == "blocked":
                    with open(orig, "w") as f:
                        f.write("a plain file where the old cache was\n")
                parent_before = files_under(os.path.dirname(orig))
                before = files_under(dest)
                run = run_workload("inductor", dest)
                parent_after = files_under(os.path.dirname(orig))
                run["created_at_old_path"] = [k for k in written(parent_before, parent_after)
                                              if not k.startswith(os.path.basename(away))]
                run["old_path_is"] = ("absent" if not os.path.lexists(orig) else
                                      "dir" if os.path.isdir(orig) else "file")
                run["written_in_new_cache"] = len(written(before, files_under(dest)))
                run.update(info)
                res["moved"][name] = run
            finally:
                if os.path.isdir(orig) and not os.path.islink(orig):
                    shutil.rmtree(orig)
                elif os.path.lexists(orig):
                    os.remove(orig)
                os.rename(away, orig)
    c = res["moved"]["copy-old-absent"]
    expect("control: a plain copy writes at the old path once it is gone", c["created_at_old_path"], c["created_at_old_path"])
    c = res["moved"]["copy-old-blocked"]
    expect("control: a plain copy crashes when a file blocks the old path", c["exit"] != 0, c["error"])
    for old in ("absent", "blocked"):
        r = res["moved"]["mcm-old-%s" % old]
        expect("mcm import, old path %s: no crash, FX graphs hit, nothing at the old path" % old,
               r["exit"] == 0 and r["fxgraph_hit"] == warm["fxgraph_hit"] and r["fxgraph_miss"] == 0
               and not r["created_at_old_path"] and r["old_path_is"] == ("absent" if old == "absent" else "file"),
               r)


# --- 2. prediction on the H100 fixture -----------------------------------------------------

def prediction():
    dest = os.path.join(WORK, "h100", "torchinductor_root")
    fixture = os.path.join(ROOT, "test", "fixtures", "h100-torchinductor_root.tar.gz")
    mcm("import", fixture, "--cache-dir", dest)
    explained = mcm_json("explain", "--cache-dir", dest)
    checked = mcm_json("check", "--cache-dir", dest)
    res["prediction"]["explain_text"] = mcm("explain", "--cache-dir", dest).stdout
    res["prediction"]["check_text"] = mcm("check", "--cache-dir", dest).stdout
    res["prediction"]["explain"] = explained
    res["prediction"]["check_summary"] = checked.get("summary")
    probe = sh([sys.executable, os.path.join(ROOT, "python", "mcm_probe.py")]).stdout.strip().splitlines()[-1]
    res["prediction"]["probe"] = json.loads(probe)
    before = kernel_dirs(dest)
    hits = os.path.join(WORK, "h100-hits")
    run = run_workload("inductor", dest, tracker_log=hits)
    looks = run.pop("lookups", [])
    # a lookup of a key the cache holds tests the verdict; others are kernels the new graphs ask for
    cached = [x for x in looks if x["key"] in before]
    run["lookups_of_cached_kernels"] = len(cached)
    run["hits_among_them"] = sum(1 for x in cached if x["hit"])
    run["lookups_of_other_keys"] = len(looks) - len(cached)
    run["kernels_compiled"] = len(kernel_dirs(dest) - before)
    run["kernels_in_cache"] = len(before)
    res["prediction"]["run"] = run
    levels = [l for c in explained["caches"] for l in c["levels"]]
    fx = [l for l in levels if l["level"] == "fx-graph"]
    tr = [l for l in levels if l["level"] == "triton"]
    fx_said_miss = all(l["verdict"] == "cannot hit" for l in fx)
    expect("explain's FX-graph verdict matches the run",
           fx_said_miss == (run["fxgraph_hit"] == 0) and fx_said_miss == (run["fxgraph_miss"] > 0),
           {"said": [l["verdict"] + ": " + l["because"] for l in fx], "hit": run["fxgraph_hit"], "miss": run["fxgraph_miss"]})
    tr_said_hit = all(l["verdict"] == "can hit" for l in tr)
    n, h = run["lookups_of_cached_kernels"], run["hits_among_them"]
    expect("explain's Triton verdict matches the lookups of the kernels the cache holds",
           n > 0 and tr_said_hit == (h == n) and (tr_said_hit or h == 0),
           {"said": [l["verdict"] + ": " + l["because"] for l in tr], "lookups": n, "hits": h,
            "other_keys": run["lookups_of_other_keys"], "compiled": run["kernels_compiled"]})


# --- 3. controls -----------------------------------------------------------------------------

CANDIDATES = ["TRITON_DISABLE_LINE_INFO", "TRITON_DEFAULT_FP_FUSION", "LLVM_IR_ENABLE_DUMP", "MLIR_ENABLE_DUMP"]


def hashed_variable():
    """The first candidate that Triton's own list of hashed variables includes here."""
    for name in CANDIDATES:
        p = sh([sys.executable, os.path.join(ROOT, "python", "mcm_probe.py")], env=dict(os.environ, **{name: "1"}))
        probe = json.loads(p.stdout.strip().splitlines()[-1])
        if name in (probe["triton"].get("hashed_env") or {}):
            return name
    return None


def controls():
    var = hashed_variable()
    res["controls"]["hashed_variable"] = var
    host = os.path.join(WORK, "warm")
    os.makedirs(host, exist_ok=True)
    mcm("warm", "--host-cache-dir", host, "--", sys.executable, WORKLOAD, "triton")
    capture = os.path.join(host, sorted(os.listdir(host))[-1])
    triton_dir = os.path.join(capture, "triton")
    res["controls"]["warm_records_probe"] = "probe" in json.load(open(os.path.join(capture, "mcm-warm.json")))
    same = mcm_json("explain", "--cache-dir", triton_dir)
    res["controls"]["explain_same_env"] = same["summary"]
    if var:
        changed = mcm_json("explain", "--cache-dir", triton_dir, env={var: "1"})
        res["controls"]["explain_with_var"] = changed["summary"]
        before = files_under(triton_dir)
        env = dict(os.environ, TRITON_CACHE_DIR=triton_dir, **{var: "1"})
        p = sh([sys.executable, WORKLOAD, "triton"], env=env, ok=None)
        new = written(before, files_under(triton_dir))
        res["controls"]["run_with_var"] = {"exit": p.returncode, "files_written": len(new)}
        said = [l for c in changed["caches"] for l in c["levels"] if l["level"] == "triton"]
        expect("a hashed variable set: explain says cannot hit, and Triton compiles again",
               all(l["verdict"] == "cannot hit" and var in l["because"] for l in said) and len(new) > 0,
               {"because": [l["because"] for l in said], "files_written": len(new)})
    # a stand-in triton/torch on PYTHONPATH, as a user's other environment would be
    facts = {"triton": {"version": "3.7.0", "key": "3.7.0standin", "hashed_env_names": [],
                        "target": {"backend": "cuda", "arch": 90, "warp_size": 32},
                        "ptxas": "Cuda compilation tools, release 13.0, V13.0.88"},
             "torch": {"version": "2.12.0", "cuda": "13.0", "device": "NVIDIA H200", "torch_key": "ab", "config": {}}}
    f = os.path.join(WORK, "standin.json")
    with open(f, "w") as fh:
        json.dump(facts, fh)
    standin = {"PYTHONPATH": os.path.join(ROOT, "test", "check", "standin"), "MCM_STANDIN": f}
    other = mcm_json("explain", "--cache-dir", os.path.join(WORK, "a", "inductor"), env=standin)
    res["controls"]["explain_standin_versions"] = other["summary"]
    levels = [l for c in other["caches"] for l in c["levels"]]
    expect("another Triton and PyTorch seen by the probe: both levels say why",
           any(l["level"] == "triton" and "Triton version differs" in l["because"] for l in levels)
           and any(l["level"] == "fx-graph" and "torch_key" in l["because"] for l in levels),
           [l["because"] for l in levels])


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(OUT, exist_ok=True)
    with open(RUNNER, "w") as f:
        f.write(COUNTING_RUNNER)
    failed = False
    for part in (moved_cache, prediction, controls):
        try:
            part()
        except Exception as e:
            failed = True
            log("STEP FAILED in %s: %s\n%s" % (part.__name__, e, traceback.format_exc()[-1500:]))
    with open(os.path.join(OUT, "explain-check.json"), "w") as f:
        json.dump(res, f, indent=1)
    if failed:
        return 2
    return 0 if all(e["ok"] for e in res["expectations"]) else 1


if __name__ == "__main__":
    sys.exit(main())
