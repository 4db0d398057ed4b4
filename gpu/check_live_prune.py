"""Real-GPU check that `mcm prune` never breaks a running program (issue 11).
Standard library plus the machine's Triton and PyTorch.

Several processes relaunch a handful of real Triton kernels in a loop, clearing
Triton's in-memory kernel cache before each launch (`device_caches.clear()`), so
that every launch looks the kernel up in the on-disk cache (get_group, then
CompiledKernel's reads, then loading the cubin). Meanwhile a pruner runs in a
loop on the same cache:

  full        mcm prune --full -y
  asm-full    mcm prune --asm -y, then mcm prune --full -y, alternating
  ir-only     mcm prune --asm -y, with the IR and assembly put back (atomically,
              as a compile would) between runs
  max-size    mcm prune --max-size <half the cache> -y
  naive       a plain remover: each kernel folder renamed away, no unpublishing,
              no grace (the control: it should break launches)

One loader in each mode also recompiles now and then (always_compile), as a
second rank compiling the same key does. COLD_SHARE (default 0.5) is the share
of launches that go to half of the kernels: 0.002 makes them rarely used, as
most kernels of a real cache are, so that whole kernels can go while the
others are in use. Results go to OUT/live-prune.json.

    python3 gpu/check_live_prune.py OUT [SECONDS_PER_MODE]

with `mcm` on PATH (see check_move.py for the bundle). MCM_IN_FLIGHT_MS is set
to 3000 here: kernels are recompiled within seconds after a --full prune, and
the default minute would leave them all alone for most of a short run.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = "/tmp/mcm-live-prune"
IR_EXTS = (".source", ".ttir", ".ttgir", ".llir", ".ptx")


def loader(seconds, recompile, cold_share):
    """One program: relaunches every kernel, looking each up on disk every time."""
    import torch
    import triton
    import triton.language as tl

    @triton.jit
    def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
        pid = tl.program_id(0)
        offs = pid * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)

    @triton.jit
    def scale_kernel(x_ptr, out_ptr, n, s, BLOCK: tl.constexpr):
        pid = tl.program_id(0)
        offs = pid * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) * s, mask=mask)

    n = 4096
    x = torch.randn(n, device="cuda")
    y = torch.randn(n, device="cuda")
    out = torch.empty_like(x)
    launches = []
    for block in (64, 128, 256, 512):
        launches.append((add_kernel, lambda b=block: add_kernel[(triton.cdiv(n, b),)](x, y, out, n, BLOCK=b), x + y))
        launches.append((scale_kernel, lambda b=block: scale_kernel[(triton.cdiv(n, b),)](x, out, n, 3.0, BLOCK=b), x * 3.0))
    stats = {"launches": 0, "exceptions": {}, "tracebacks": [], "wrong": 0, "recompiles": 0}
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    rnd = random.Random(os.getpid())
    knobs = getattr(triton, "knobs", None)
    end = time.monotonic() + seconds
    print("ready", file=sys.stderr, flush=True)
    while not stop["now"] and time.monotonic() < end:
        # programs use some kernels all the time and others rarely: half of them get cold_share of the launches
        half = len(launches) // 2
        fn, launch, expected = rnd.choice(launches[half:] if rnd.random() < cold_share else launches[:half])
        again = recompile and knobs is not None and rnd.random() < recompile
        try:
            fn.device_caches.clear()
            if again:
                knobs.compilation.always_compile = True
                stats["recompiles"] += 1
            try:
                launch()
            finally:
                if again:
                    knobs.compilation.always_compile = False
            torch.cuda.synchronize()
            if not torch.allclose(out, expected):
                stats["wrong"] += 1
        except Exception as e:  # what the program would have crashed with
            name = type(e).__name__
            stats["exceptions"][name] = stats["exceptions"].get(name, 0) + 1
            if len(stats["tracebacks"]) < 4:
                stats["tracebacks"].append(traceback.format_exc(limit=4)[-1500:])
        stats["launches"] += 1
    print(json.dumps(stats), flush=True)


def kernel_dirs(cache):
    return [os.path.join(cache, d) for d in sorted(os.listdir(cache)) if os.path.isdir(os.path.join(cache, d))
            and any(f.startswith("__grp__") for f in os.listdir(os.path.join(cache, d)))]


def half_kernels(cache):
    """Folders whose group file offers the metadata but not the binary: Triton raises KeyError on them."""
    half = []
    for d in kernel_dirs(cache):
        for g in [f for f in os.listdir(d) if f.startswith("__grp__")]:
            try:
                with open(os.path.join(d, g)) as f:
                    children = json.load(f)["child_paths"]
            except Exception:
                continue
            present = [c for c, p in children.items() if os.path.exists(p)]
            if any(c.endswith(".json") for c in present) and not any(c.endswith(".cubin") for c in present):
                half.append(d)
    return half


def put_back_ir(cache, pristine):
    """Puts the IR and assembly back where a prune took them, atomically, and lists them in the group again."""
    for d in kernel_dirs(cache):
        src = os.path.join(pristine, os.path.basename(d))
        if not os.path.isdir(src):
            continue
        added = {}
        for f in os.listdir(src):
            if f.endswith(IR_EXTS) and not os.path.exists(os.path.join(d, f)):
                tmp = os.path.join(d, f".put-back.{os.getpid()}.{f}")
                shutil.copyfile(os.path.join(src, f), tmp)
                os.replace(tmp, os.path.join(d, f))
                added[f] = os.path.join(d, f)
        for g in [f for f in os.listdir(d) if f.startswith("__grp__")] if added else []:
            path = os.path.join(d, g)
            try:
                with open(path) as fh:
                    doc = json.load(fh)
            except Exception:
                continue
            if not doc.get("child_paths"):
                continue  # unpublished by a prune: leave it so
            doc["child_paths"].update(added)
            tmp = path + f".put-back.{os.getpid()}"
            with open(tmp, "w") as fh:
                json.dump(doc, fh)
            os.replace(tmp, path)


def mcm(db, *args):
    env = dict(os.environ, MCM_IN_FLIGHT_MS=os.environ.get("MCM_IN_FLIGHT_MS", "3000"))
    return subprocess.run(["mcm", "--db", db, *args], capture_output=True, text=True, env=env)


def run_mode(mode, seconds, procs=3):
    cache = os.path.join(WORK, mode, "cache")
    db = os.path.join(WORK, mode, "index.db")
    shutil.rmtree(os.path.join(WORK, mode), ignore_errors=True)
    os.makedirs(cache)
    env = dict(os.environ, TRITON_CACHE_DIR=cache)
    # warm: every kernel compiled once
    w = subprocess.run([sys.executable, __file__, "load", "3", "0", "0.5"], env=env, capture_output=True, text=True)
    if w.returncode != 0:
        return {"mode": mode, "error": w.stderr[-2000:]}
    pristine = os.path.join(WORK, mode, "pristine")
    shutil.copytree(cache, pristine)
    mcm(db, "index", "--cache-dir", cache)
    total = json.loads(mcm(db, "stats", "--json").stdout)["bytes"]
    children = [subprocess.Popen([sys.executable, __file__, "load", str(seconds + 60), "0.0003" if i == 0 else "0", os.environ.get("COLD_SHARE", "0.5")],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(procs)]
    for c in children:
        c.stderr.readline()  # ready
    prunes = {"runs": 0, "failed": 0, "kernelsPlanned": 0, "kernelsRemoved": 0, "filesRemoved": 0, "leftAlone": {}, "errors": []}
    end = time.monotonic() + seconds
    i = 0
    trash = os.path.join(WORK, mode, "naive-trash")
    os.makedirs(trash, exist_ok=True)
    while time.monotonic() < end:
        if mode == "naive":
            for d in kernel_dirs(cache):
                try:
                    os.rename(d, os.path.join(trash, f"{os.path.basename(d)}.{i}"))
                    prunes["kernelsRemoved"] += 1
                except OSError:
                    pass
            prunes["runs"] += 1
            time.sleep(0.05)
            i += 1
            continue
        if mode == "full":
            args = ["--full"]
        elif mode == "asm-full":
            args = ["--asm"] if i % 2 == 0 else ["--full"]
        elif mode == "ir-only":
            args = ["--asm"]
        else:
            args = ["--max-size", str(total // 2)]
        r = mcm(db, "prune", *args, "-y", "--json")
        prunes["runs"] += 1
        if r.returncode not in (0, 1):
            prunes["failed"] += 1
            if len(prunes["errors"]) < 3:
                prunes["errors"].append(r.stderr[-500:])
        elif r.stdout.strip():
            p = json.loads(r.stdout)
            freed = p.get("freed") or {}
            prunes["kernelsPlanned"] += p.get("kernels", 0)
            for w in p.get("warnings", []) + p.get("skipped", []):
                why = w.get("message") or w.get("reason")
                prunes["leftAlone"][why] = prunes["leftAlone"].get(why, 0) + 1
            prunes["kernelsRemoved"] += freed.get("kernels", 0)
            prunes["filesRemoved"] += freed.get("files", 0)
        if mode == "ir-only":
            put_back_ir(cache, pristine)
        i += 1
    results = []
    for c in children:
        c.send_signal(signal.SIGTERM)
    for c in children:
        out, err = c.communicate(timeout=120)
        try:
            results.append(json.loads(out.strip().splitlines()[-1]))
        except Exception:
            results.append({"launches": 0, "exceptions": {"loader-died": 1}, "tracebacks": [err[-1500:]], "wrong": 0})
    exceptions = {}
    for r in results:
        for k, n in r["exceptions"].items():
            exceptions[k] = exceptions.get(k, 0) + n
    return {
        "mode": mode,
        "seconds": seconds,
        "processes": procs,
        "launches": sum(r["launches"] for r in results),
        "recompiles": sum(r.get("recompiles", 0) for r in results),
        "wrongResults": sum(r["wrong"] for r in results),
        "exceptions": exceptions,
        "tracebacks": [t for r in results for t in r["tracebacks"]][:4],
        "halfKernels": len(half_kernels(cache)),
        "prunes": prunes,
    }


def main():
    if sys.argv[1] == "load":
        loader(float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return 0
    out = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 40
    modes = sys.argv[3].split(",") if len(sys.argv) > 3 else ["full", "asm-full", "ir-only", "max-size", "naive"]
    os.makedirs(out, exist_ok=True)
    import triton
    import torch
    report = {"triton": triton.__version__, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "modes": []}
    for mode in modes:
        r = run_mode(mode, seconds)
        report["modes"].append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "tracebacks"}), flush=True)
        with open(os.path.join(out, "live-prune.json"), "w") as f:
            json.dump(report, f, indent=1)
    ok = all(m.get("exceptions") == {} and m.get("halfKernels") == 0 for m in report["modes"] if m["mode"] != "naive")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
