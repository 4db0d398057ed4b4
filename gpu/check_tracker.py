"""Real-GPU check for hit tracking (issue 6). Standard library only.

Runs gpu/workloads.py with the tracker enabled (TRITON_CACHE_MANAGER), cold then
warm, and compares what `mcm list --json` reports with what happened: a cold
run compiles (misses), a warm run hits. Then measures the tracker's overhead on
warm runs (median of several, with and without it) and its cost per lookup.

    python3 gpu/check_tracker.py OUT_DIR      (with `mcm` on PATH)
"""
import json, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.join(os.path.dirname(HERE), "python")
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/out"
WORK = "/tmp/mcm-tracker-check"
DB = os.path.join(WORK, "index.db")
RUNS = int(os.environ.get("RUNS", "5"))
res = {}


def workload(kind, env_extra, tracked):
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_MANAGER")}
    env.update(env_extra)
    if tracked:
        env["PYTHONPATH"] = PYDIR + os.pathsep + env.get("PYTHONPATH", "")
        env["TRITON_CACHE_MANAGER"] = "mcm_tracker:TrackingCacheManager"
    t = time.time()
    p = subprocess.run([sys.executable, os.path.join(HERE, "workloads.py"), kind], env=env, capture_output=True, text=True, timeout=400)
    return {"rc": p.returncode, "seconds": round(time.time() - t, 3), "out": p.stdout.strip()[-200:], "err": p.stderr.strip()[-400:]}


def mcm_json(*args):
    p = subprocess.run(["mcm", "--db", DB, *args, "--json"], capture_output=True, text=True)
    return json.loads(p.stdout) if p.stdout.strip() else {"rc": p.returncode, "stderr": p.stderr}


def kernels(cache):
    ks = mcm_json("list", "--cache-dir", cache)
    return [{"name": k["name"], "hits": k["hits"], "misses": k["misses"]} for k in ks] if isinstance(ks, list) else ks


ONLY_OVERHEAD = os.environ.get("ONLY_OVERHEAD") == "1"
T = os.path.join(WORK, "triton-cache")
if not ONLY_OVERHEAD:
    shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK, exist_ok=True)

def run_s(r):
    try:
        return json.loads(r["out"].splitlines()[-1])["run_s"]
    except Exception:
        return None

if ONLY_OVERHEAD:
    workload("triton", {"TRITON_CACHE_DIR": T}, True)  # make sure the cache is warm
    with_t, without_t = [], []
    for i in range(RUNS):
        without_t.append(workload("triton", {"TRITON_CACHE_DIR": T}, False))
        with_t.append(workload("triton", {"TRITON_CACHE_DIR": T}, True))
    med = lambda xs: statistics.median(xs)
    o = {"runs": RUNS,
         "wall_with": [r["seconds"] for r in with_t], "wall_without": [r["seconds"] for r in without_t],
         "run_s_with": [run_s(r) for r in with_t], "run_s_without": [run_s(r) for r in without_t]}
    o["wall_ratio"] = med(o["wall_with"]) / med(o["wall_without"])
    o["run_s_ratio"] = med(o["run_s_with"]) / med(o["run_s_without"])
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tracker-overhead.json"), "w") as f:
        json.dump(o, f, indent=1)
    print(json.dumps({k: o[k] for k in ("runs", "wall_ratio", "run_s_ratio")}), med(o["wall_with"]), med(o["wall_without"]), med(o["run_s_with"]), med(o["run_s_without"]))
    sys.exit(0)

if os.environ.get("ONLY_INDUCTOR") == "1":
    I = os.path.join(WORK, "torchinductor")
    cold = workload("inductor", {"TORCHINDUCTOR_CACHE_DIR": I}, True)
    ks = kernels(I)
    print("inductor cold", cold["rc"], cold["seconds"], "kernels", len(ks), "with a miss", sum(k["misses"] > 0 for k in ks),
          "misses", sum(k["misses"] for k in ks), "hits", sum(k["hits"] for k in ks))
    sys.exit(0)

# Triton kernels, TRITON_CACHE_DIR set by the user
res["triton_cold"] = workload("triton", {"TRITON_CACHE_DIR": T}, True)
res["triton_after_cold"] = kernels(T)
res["triton_warm"] = workload("triton", {"TRITON_CACHE_DIR": T}, True)
res["triton_after_warm"] = kernels(T)

# Inductor: Triton kernels under triton/0, the cache dir set by Inductor itself
I = os.path.join(WORK, "torchinductor")
res["inductor_cold"] = workload("inductor", {"TORCHINDUCTOR_CACHE_DIR": I}, True)
res["inductor_after_cold"] = kernels(I)
res["inductor_warm"] = workload("inductor", {"TORCHINDUCTOR_CACHE_DIR": I}, True)
res["inductor_after_warm"] = kernels(I)
res["stats"] = mcm_json("stats")

# overhead on warm runs, alternating, same machine and session
with_t, without_t = [], []
for i in range(RUNS):
    without_t.append(workload("triton", {"TRITON_CACHE_DIR": T}, False)["seconds"])
    with_t.append(workload("triton", {"TRITON_CACHE_DIR": T}, True)["seconds"])
res["overhead"] = {"with": with_t, "without": without_t, "median_with": statistics.median(with_t),
                   "median_without": statistics.median(without_t),
                   "ratio": statistics.median(with_t) / statistics.median(without_t)}

# cost per lookup, in process: get_group of a cached kernel, plain vs tracked
micro = """
import os, sys, time
sys.path.insert(0, %r)
from triton.runtime.cache import FileCacheManager
from mcm_tracker import TrackingCacheManager
root = %r
key = sorted(d for d in os.listdir(root) if not d.startswith('.') and any(f.startswith('__grp__') for f in os.listdir(os.path.join(root, d))))[0]
name = [f for f in os.listdir(os.path.join(root, key)) if f.startswith('__grp__')][0][7:]
N = 20000
def bench(cls):
    m = cls(key)
    t = time.perf_counter()
    for _ in range(N):
        m.get_group(name)
    return (time.perf_counter() - t) / N * 1e6
plain = min(bench(FileCacheManager) for _ in range(3))
tracked = min(bench(TrackingCacheManager) for _ in range(3))
print(plain, tracked)
""" % (PYDIR, T)
env = {k: v for k, v in os.environ.items()}
env["TRITON_CACHE_DIR"] = T
env["MCM_HITS_DIR"] = os.path.join(WORK, "micro-hits")
p = subprocess.run([sys.executable, "-c", micro], env=env, capture_output=True, text=True)
try:
    plain, tracked = map(float, p.stdout.split())
    res["per_lookup_us"] = {"plain_get_group": plain, "tracked_get_group": tracked, "added": tracked - plain}
except Exception:
    res["per_lookup_us"] = {"error": p.stderr[-500:]}

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "tracker-check.json"), "w") as f:
    json.dump(res, f, indent=1)
def summary(ks):
    if not isinstance(ks, list):
        return ks
    return {"kernels": len(ks), "hits": sum(k["hits"] for k in ks), "misses": sum(k["misses"] for k in ks),
            "all_hit": all(k["hits"] > 0 for k in ks), "none_hit": all(k["hits"] == 0 for k in ks)}
for k in ("triton_after_cold", "triton_after_warm", "inductor_after_cold", "inductor_after_warm"):
    print(k, summary(res[k]))
print("runs", {k: (res[k]["rc"], res[k]["seconds"]) for k in ("triton_cold", "triton_warm", "inductor_cold", "inductor_warm")})
print("overhead", res["overhead"])
print("per lookup", res["per_lookup_us"])
