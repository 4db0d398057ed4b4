"""Real-GPU check for `mcm prune` (issue 3). Standard library only.

Builds real Triton and Inductor caches with workloads.py, prunes them with mcm,
reruns the workload after each step and records whether kernels recompiled
(new or rewritten files in the cache) and whether the program crashed.

Run on a machine with a GPU, Triton and PyTorch, with `mcm` on PATH:
    python3 gpu/check_prune.py OUT_DIR
"""
import json, os, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/out"
WORK = "/tmp/mcm-prune-check"
DB = os.path.join(WORK, "index.db")
results = {"steps": []}


def snapshot(root):
    snap = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".mcm")]
        for f in files:
            if f.startswith(".mcm"):
                continue
            p = os.path.join(d, f)
            st = os.lstat(p)
            snap[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def diff(before, after):
    new = sorted(p for p in after if p not in before)
    rewritten = sorted(p for p in after if p in before and after[p] != before[p])
    return new, rewritten


def workload(kind, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR")}
    env.update(env_extra)
    t = time.time()
    p = subprocess.run([sys.executable, os.path.join(HERE, "workloads.py"), kind], env=env, capture_output=True, text=True, timeout=400)
    return {"rc": p.returncode, "seconds": round(time.time() - t, 2), "stdout": p.stdout.strip()[-300:], "stderr": p.stderr.strip()[-600:] if p.returncode else ""}


def mcm(*args):
    p = subprocess.run(["mcm", "--db", DB, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def kernel_dirs(root):
    return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and any(f.startswith("__grp__") for f in os.listdir(os.path.join(root, d))))


def step(name, cache, kind, env, action):
    """Runs `action` on the cache, then the workload again, and records what changed."""
    before_action = snapshot(cache)
    info = action() or {}
    before = snapshot(cache)
    run = workload(kind, env)
    after = snapshot(cache)
    new, rewritten = diff(before, after)
    new_kernels = sorted({p.split(os.sep)[0] for p in new if p.endswith(".json") and "__grp__" in p})
    rec = {"step": name, "crashed": run["rc"] != 0, "run": run, "files_removed_by_action": len(set(before_action) - set(before)),
           "new_files": len(new), "rewritten_files": len(rewritten), "recompiled_kernels": len(new_kernels), **info}
    results["steps"].append(rec)
    print(json.dumps({k: v for k, v in rec.items() if k != "run"}), "rc", run["rc"], run["seconds"], "s", flush=True)
    return rec


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
T = os.path.join(WORK, "triton-cache")
env = {"TRITON_CACHE_DIR": T}
results["cold"] = workload("triton", env)
results["warm"] = step("nothing (baseline warm run)", T, "triton", env, lambda: None)

def ir_only():
    rc, out, err = mcm("prune", "--cache-dir", T, "-y", "--json")
    plan = json.loads(out)
    return {"mcm_rc": rc, "pruned_files": plan["files"], "pruned_bytes": plan["bytes"]}
step("mcm prune (IR-only)", T, "triton", env, ir_only)

def asm_too():
    rc, out, err = mcm("prune", "--cache-dir", T, "--asm", "-y", "--json")
    plan = json.loads(out) if out else {"files": 0, "bytes": 0}
    return {"mcm_rc": rc, "pruned_files": plan["files"], "pruned_bytes": plan["bytes"]}
step("mcm prune --asm (assembly too)", T, "triton", env, asm_too)

def copy_and_link():
    src = kernel_dirs(T)[0]
    shutil.copytree(os.path.join(T, src), os.path.join(T, "COPYOF" + src[6:]))
    rc, out, err = mcm("prune", "--cache-dir", T, "--deduplicate", "--link", "-y", "--json")
    plan = json.loads(out)
    return {"mcm_rc": rc, "linked_files": plan["files"], "saved_bytes": plan["bytes"], "duplicates": plan["kernels"]}
step("copy a kernel folder, mcm prune --deduplicate --link", T, "triton", env, copy_and_link)

def full_some():
    rc, out, err = mcm("prune", "--cache-dir", T, "--name", "add_kernel", "--full", "-y", "--json")
    plan = json.loads(out)
    return {"mcm_rc": rc, "removed_kernels": plan["kernels"]}
step("mcm prune --name add_kernel --full", T, "triton", env, full_some)
step("warm again after the recompiles", T, "triton", env, lambda: None)

def remove_binary_by_hand():
    d = kernel_dirs(T)[0]
    for f in os.listdir(os.path.join(T, d)):
        if f.endswith(".cubin"):
            os.remove(os.path.join(T, d, f))
    return {"control": "what mcm never does: a .cubin removed while its .json and group file stay"}
step("control: rm one .cubin by hand", T, "triton", env, remove_binary_by_hand)

# vLLM-shaped cache with two tensor-parallel ranks compiled separately: true duplicates
V = os.path.join(WORK, "vllm-cache", "torch_compile_cache", "0a1b2c3d4e")
ranks = {}
for r in ("rank_0_0", "rank_1_0"):
    base = os.path.join(V, r)
    ranks[r] = {"TORCHINDUCTOR_CACHE_DIR": os.path.join(base, "inductor_cache"), "TRITON_CACHE_DIR": os.path.join(base, "triton_cache")}
    results[f"cold_{r}"] = workload("inductor", ranks[r])
VR = os.path.join(WORK, "vllm-cache")
rc, out, err = mcm("index", "--cache-dir", VR, "--json")
results["vllm_index"] = json.loads(out) if out else err

def link_ranks():
    rc, out, err = mcm("prune", "--cache-dir", VR, "--deduplicate", "--link", "-y", "--json")
    plan = json.loads(out)
    return {"mcm_rc": rc, "linked_files": plan["files"], "saved_bytes": plan["bytes"], "duplicates": plan["kernels"], "stderr": err[-300:]}
step("vLLM ranks: mcm prune --deduplicate --link", os.path.join(V, "rank_1_0", "triton_cache"), "inductor", ranks["rank_1_0"], link_ranks)
step("vLLM rank_0_0 after linking", os.path.join(V, "rank_0_0", "triton_cache"), "inductor", ranks["rank_0_0"], lambda: None)
rc, out, err = mcm("stats", "--json")
results["stats_after"] = json.loads(out) if out else err

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "prune-check.json"), "w") as f:
    json.dump(results, f, indent=1)
print("cold", results["cold"]["seconds"], "s; rank cold", results["cold_rank_0_0"]["seconds"], results["cold_rank_1_0"]["seconds"])
