"""Real-GPU check for moving a Triton cache (issue 5). Standard library only.

Warms a cache with the `triton` workload of workloads.py (14 kernels), then moves
it three ways and reruns the workload with TRITON_CACHE_DIR at the new path:

  1. `mcm export` + `mcm import` at another path      -> expected: no recompile
  2. `cp -r` + `mcm relocate`                          -> expected: no recompile
  3. `cp -r` without relocation
     a. original still there                           -> "hits" that read the OLD path
     b. original renamed away                          -> every kernel recompiles

In 1, 2 and 3b the original folder is renamed away during the rerun, so a kernel
that still points at it cannot quietly read it. Recompiles are counted three
independent ways for each run:
  - lookups: a cache manager (subclass of mcm's hit tracker, python/mcm_tracker.py)
    logs every group lookup, whether it hit, and which paths it returned;
    a path outside the run's cache dir is a read of the old location;
  - the tracker's own hit log (MCM_HITS_DIR), as `mcm list` would count it;
  - the disk: files created or rewritten in the cache by the run (a recompile
    rewrites the kernel's files; a hit writes nothing).
It also runs `mcm check --json` on each cache (real nvidia-smi and Triton here).

Run on a machine with a GPU, Triton and PyTorch, with `mcm` on PATH:
    python3 gpu/check_move.py [OUT_DIR]        (default: $OUT, else /tmp/out)
e.g. after `bash gpu/bundle.sh` here, carrying .device, on the GPU machine:
    xz -dc .device/node.xz >/tmp/node && chmod +x /tmp/node && mkdir -p /tmp/bin &&
    ln -sf /tmp/node /tmp/bin/node && ln -sf "$PWD/.device/mcm/bin/mcm" /tmp/bin/mcm &&
    PATH=/tmp/bin:$PATH python3 gpu/check_move.py "$OUT"
Writes OUT_DIR/move-check.json and OUT_DIR/move-check.txt. Exits 0 when every
scenario did what it should, 1 when one did not, 2 when a step failed (an mcm
command exited non-zero, the workload crashed) or the warm baseline still compiled.
Every step is logged with its time; a failed scenario never stops the others, and
the original cache is renamed back even when a rerun fails.

Smoke-tested without a GPU (MOVE_WORKLOAD=a stand-in workload over
test/python/stub, MOVE_WORK=a scratch folder); the numbers that count come from a GPU.
"""
import json, os, shutil, subprocess, sys, time, traceback

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT") or "/tmp/out"
WORK = os.environ.get("MOVE_WORK", "/tmp/mcm-move-check")
ORIG = os.path.join(WORK, "a", "triton-cache")
# a stand-in workload for a smoke test without a GPU; the real check uses workloads.py
WORKLOAD = os.environ.get("MOVE_WORKLOAD", os.path.join(HERE, "workloads.py"))
T0 = time.time()
res = {"work": WORK, "runs": {}, "scenarios": [], "checks": {}, "steps": []}


def log(msg):
    line = "[%7.1fs] %s" % (time.time() - T0, msg)
    print(line, flush=True)
    res["steps"].append(line)


class StepFailed(Exception):
    pass


def sh(argv, env=None, timeout=300, ok=(0,)):
    """Runs one command, logged; a non-zero exit (unless listed in ok) is a StepFailed."""
    log("$ " + " ".join(argv))
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode not in ok:
        log("  exit %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-800:]))
        raise StepFailed("%s exited %d: %s" % (argv[0:2], p.returncode, (p.stderr or p.stdout).strip()[-300:]))
    return p


MCM_ENV = dict(os.environ, MCM_DB=os.path.join(WORK, "index.db"), NO_COLOR="1")


def mcm(*args, ok=(0,)):
    return sh(["mcm", *args], env=MCM_ENV, ok=ok)


# --- the cache manager that records lookups and the paths they return -------------

PATHLOG_MODULE = r'''
import json, os
from mcm_tracker import TrackingCacheManager

class PathLoggingCacheManager(TrackingCacheManager):
    """mcm's tracker, also logging which files each group lookup points at."""
    def get_group(self, filename):
        group = super().get_group(filename)
        try:
            line = json.dumps({"key": self.key, "file": filename, "cache_dir": self.cache_dir,
                               "hit": bool(group) and filename in group,
                               "paths": sorted(group.values()) if group else []}) + "\n"
            fd = os.open(os.environ["MCM_PATHLOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except Exception as e:
            import sys
            sys.stderr.write("pathlog failed: %s\n" % e)
        return group
'''


def tracker_dir():
    d = os.path.join(os.path.dirname(HERE), "python")
    if os.path.isfile(os.path.join(d, "mcm_tracker.py")):
        return d
    return os.path.dirname(json.loads(mcm("tracker", "--json").stdout)["module"])


# --- what a run did --------------------------------------------------------------------

def snapshot(root):
    snap = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".mcm")]
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            snap[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def read_jsonl(path):
    out = []
    if os.path.isdir(path):
        files = [os.path.join(path, f) for f in sorted(os.listdir(path))]
    else:
        files = [path] if os.path.exists(path) else []
    for f in files:
        with open(f) as fh:
            for line in fh:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    return out


def group_paths(root):
    """How many group files point only inside their own folder, and how many elsewhere."""
    inside = elsewhere = 0
    examples = []
    for key in sorted(os.listdir(root)):
        d = os.path.join(root, key)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            if not f.startswith("__grp__"):
                continue
            with open(os.path.join(d, f)) as fh:
                paths = json.load(fh).get("child_paths", {})
            vals = list(paths.values()) if isinstance(paths, dict) else [os.path.join(d, p) for p in paths]
            if all(os.path.dirname(p) == d for p in vals):
                inside += 1
            else:
                elsewhere += 1
                if len(examples) < 2:
                    examples.append(vals[0] if vals else None)
    return {"inside": inside, "elsewhere": elsewhere, "examples": examples}


def workload(name, cache):
    """Runs the triton workload on `cache` and records lookups, recompiles and time."""
    pathlog = os.path.join(WORK, "pathlog", name + ".jsonl")
    hits_dir = os.path.join(WORK, "hits", name)
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_MANAGER")}
    env.update(
        TRITON_CACHE_DIR=cache,
        TRITON_CACHE_MANAGER="mcm_pathlog:PathLoggingCacheManager",
        PYTHONPATH=os.pathsep.join([os.path.join(WORK, "pymods"), TRACKER_DIR] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        MCM_PATHLOG=pathlog,
        MCM_HITS_DIR=hits_dir,
    )
    before = snapshot(cache) if os.path.isdir(cache) else {}
    log("run workload '%s' with TRITON_CACHE_DIR=%s" % (name, cache))
    t = time.time()
    p = subprocess.run([sys.executable, WORKLOAD, "triton"], env=env, capture_output=True, text=True, timeout=600)
    seconds = round(time.time() - t, 2)
    after = snapshot(cache) if os.path.isdir(cache) else {}
    new = sorted(x for x in after if x not in before)
    rewritten = sorted(x for x in after if x in before and after[x] != before[x])
    touched_kernels = sorted({x.split(os.sep)[0] for x in new + rewritten if os.path.basename(x).startswith("__grp__")})
    lookups = read_jsonl(pathlog)
    prefix = os.path.realpath(cache) + os.sep
    is_out = lambda q: not os.path.realpath(q).startswith(prefix)
    outside = [q for l in lookups for q in l["paths"] if is_out(q)]
    tracked = read_jsonl(hits_dir)
    try:
        run_s = json.loads(p.stdout.strip().splitlines()[-1]).get("run_s")
    except Exception:
        run_s = None
    rec = {
        "cache": cache, "rc": p.returncode, "seconds": seconds, "run_s": run_s,
        "lookups": len(lookups), "hits": sum(1 for l in lookups if l["hit"]), "misses": sum(1 for l in lookups if not l["hit"]),
        "paths_read_outside_cache": len(outside), "lookups_reading_outside": sum(1 for l in lookups if any(map(is_out, l["paths"]))), "outside_examples": sorted(set(outside))[:3],
        "tracker_hits": sum(1 for e in tracked if e.get("hit")), "tracker_misses": sum(1 for e in tracked if not e.get("hit")),
        "files_new": len(new), "files_rewritten": len(rewritten), "kernels_recompiled": len(touched_kernels),
        "stderr": p.stderr.strip()[-800:] if p.returncode else "",
    }
    res["runs"][name] = rec
    log("  rc %d, %.1f s: %d lookups, %d hits, %d misses (tracker %d/%d), %d paths outside the cache, %d kernels rewritten, %d new + %d rewritten files"
        % (p.returncode, seconds, rec["lookups"], rec["hits"], rec["misses"], rec["tracker_hits"], rec["tracker_misses"],
           rec["paths_read_outside_cache"], rec["kernels_recompiled"], rec["files_new"], rec["files_rewritten"]))
    if p.returncode != 0:
        raise StepFailed("workload %s exited %d: %s" % (name, p.returncode, rec["stderr"][-300:]))
    return rec


def mcm_check(label, cache):
    """`mcm check --json` on a cache: what mcm says before the rerun (never fatal)."""
    try:
        p = mcm("check", "--cache-dir", cache, "--json", ok=(0, 1))
        j = json.loads(p.stdout)
        res["checks"][label] = {k: j.get(k) for k in ("kernels", "usable", "unusable", "unchecked", "reasons", "uncheckedReasons")}
        res["checks"][label]["machine"] = j.get("machine")
        log("  mcm check: %s of %s usable; reasons %s" % (j.get("usable"), j.get("kernels"), [(r["code"], r["kernels"]) for r in j.get("reasons", [])]))
    except Exception as e:
        res["checks"][label] = {"error": str(e)[-300:]}
        log("  mcm check failed: %s" % e)


class OriginalAway:
    """Renames the original cache away for the duration, so nothing can read it."""
    def __enter__(self):
        log("rename the original %s away" % ORIG)
        os.rename(ORIG, ORIG + ".away")
    def __exit__(self, *exc):
        os.rename(ORIG + ".away", ORIG)
        log("original back in place")


def scenario(name, expect, fn):
    log("=== scenario: %s" % name)
    rec = {"scenario": name, "expect": expect}
    try:
        rec.update(fn())
        run = rec["run"]
        if expect == "no recompile":
            rec["passed"] = run["misses"] == 0 and run["kernels_recompiled"] == 0 and run["paths_read_outside_cache"] == 0 and run["hits"] > 0
        elif expect == "recompiles":
            rec["passed"] = run["misses"] > 0 and run["kernels_recompiled"] > 0
        elif expect == "reads the old path":
            rec["passed"] = run["misses"] == 0 and run["paths_read_outside_cache"] > 0
        log("=== %s: %s" % (name, "as expected" if rec["passed"] else "NOT as expected (%s)" % expect))
    except Exception as e:
        rec["passed"] = False
        rec["error"] = "%s: %s" % (type(e).__name__, e)
        rec["trace"] = traceback.format_exc()[-1500:]
        log("=== %s: FAILED: %s" % (name, rec["error"]))
    res["scenarios"].append(rec)


def export_import():
    tarball = os.path.join(WORK, "exported.tar.gz")
    dest = os.path.join(WORK, "b", "triton-cache")
    mcm("export", "-o", tarball, "--cache-dir", ORIG)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        mcm("import", tarball, "--cache-dir", dest)
    except StepFailed:
        if os.path.exists(dest):
            raise
        log("import refused a missing folder: create it and try once more")
        os.makedirs(dest)
        mcm("import", tarball, "--cache-dir", dest)
    info = {"tarball_bytes": os.path.getsize(tarball), "group_paths": group_paths(dest)}
    log("  group paths after import: %s" % info["group_paths"])
    mcm_check("after export/import", dest)
    with OriginalAway():
        info["run"] = workload("export-import", dest)
    return info


def copy_relocate():
    dest = os.path.join(WORK, "c", "triton-cache")
    os.makedirs(os.path.dirname(dest))
    sh(["cp", "-r", ORIG, dest])
    info = {"group_paths_before": group_paths(dest)}
    mcm_check("cp -r, before relocate", dest)
    mcm("relocate", "--cache-dir", dest, "-y")
    info["group_paths"] = group_paths(dest)
    log("  group paths after relocate: %s" % info["group_paths"])
    mcm_check("cp -r + relocate", dest)
    with OriginalAway():
        info["run"] = workload("cp-relocate", dest)
    return info


def copy_only(name, hide):
    def fn():
        dest = os.path.join(WORK, name, "triton-cache")
        os.makedirs(os.path.dirname(dest))
        sh(["cp", "-r", ORIG, dest])
        info = {"original_present": not hide, "group_paths": group_paths(dest)}
        log("  group paths of the plain copy: %s" % info["group_paths"])
        if hide:
            with OriginalAway():
                info["run"] = workload(name, dest)
        else:
            info["run"] = workload(name, dest)
        return info
    return fn


def write_summary():
    os.makedirs(OUT, exist_ok=True)
    res["seconds"] = round(time.time() - T0, 1)
    with open(os.path.join(OUT, "move-check.json"), "w") as f:
        json.dump(res, f, indent=1)
    lines = ["mcm move check (issue 5): triton workload, %s" % (res.get("versions") or "")]
    for k in ("cold", "warm"):
        r = res["runs"].get(k)
        if r:
            lines.append("%-44s rc %d %6.1f s  hits %2d  misses %2d  rewritten kernels %2d" % (k + " run at the original path", r["rc"], r["seconds"], r["hits"], r["misses"], r["kernels_recompiled"]))
    lines.append("baseline: the warm run %s" % ("hit every kernel" if res.get("baseline_ok") else "did NOT hit every kernel: the counts below mean little"))
    lines.append("")
    lines.append("%-44s %-8s %5s %6s %7s %9s %10s %8s  %s" % ("SCENARIO", "RESULT", "HITS", "MISSES", "TRACKER", "OLD-PATH", "RECOMPILED", "SECONDS", "EXPECTED"))
    for s in res["scenarios"]:
        r = s.get("run") or {}
        lines.append("%-44s %-8s %5s %6s %7s %9s %10s %8s  %s" % (
            s["scenario"][:44], "ok" if s["passed"] else ("ERROR" if "error" in s else "UNEXPECTED"),
            r.get("hits", "-"), r.get("misses", "-"),
            "%s/%s" % (r.get("tracker_hits", "-"), r.get("tracker_misses", "-")),
            r.get("paths_read_outside_cache", "-"), r.get("kernels_recompiled", "-"), r.get("seconds", "-"), s["expect"]))
        if "error" in s:
            lines.append("    error: " + s["error"])
    lines.append("")
    lines.append("TRACKER = hits/misses in mcm's hit log; OLD-PATH = files read from outside the run's cache dir;")
    lines.append("RECOMPILED = kernel folders whose files the run rewrote.")
    for label, c in res["checks"].items():
        if "error" in c:
            lines.append("mcm check, %s: error %s" % (label, c["error"]))
        else:
            lines.append("mcm check, %s: %s of %s usable, %s unchecked; %s" % (label, c["usable"], c["kernels"], c["unchecked"], ", ".join("%s x%d" % (r["code"], r["kernels"]) for r in c["reasons"]) or "no reason"))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "move-check.txt"), "w") as f:
        f.write(text)
    print("\n" + text, flush=True)


def main():
    global TRACKER_DIR
    if os.path.exists(WORK):
        if os.path.exists(ORIG + ".away"):  # an earlier run died mid-scenario
            shutil.rmtree(ORIG + ".away")
        shutil.rmtree(WORK)
    for d in ("pymods", "pathlog", "hits"):
        os.makedirs(os.path.join(WORK, d))
    with open(os.path.join(WORK, "pymods", "mcm_pathlog.py"), "w") as f:
        f.write(PATHLOG_MODULE)
    try:
        res["mcm_version"] = sh(["mcm", "--version"]).stdout.strip()
        TRACKER_DIR = tracker_dir()
        v = subprocess.run([sys.executable, "-c", "import triton, torch; print(triton.__version__, torch.__version__, torch.cuda.get_device_name(0))"],
                           capture_output=True, text=True)
        res["versions"] = v.stdout.strip() or "unknown (%s)" % (v.stderr.strip().splitlines() or ["?"])[-1][:160]
        log("versions: mcm %s; triton, torch, GPU: %s" % (res["mcm_version"], res["versions"]))
        os.makedirs(os.path.dirname(ORIG))
        workload("cold", ORIG)
        warm = workload("warm", ORIG)
        # a warm run that still compiles makes every later count meaningless
        res["baseline_ok"] = warm["misses"] == 0 and warm["kernels_recompiled"] == 0 and warm["hits"] > 0
        log("baseline warm run %s" % ("hits everything" if res["baseline_ok"] else "DID NOT hit everything"))
        mcm_check("original", ORIG)
    except Exception as e:
        res["error"] = "setup: %s: %s" % (type(e).__name__, e)
        log(res["error"])
        write_summary()
        return 2
    scenario("mcm export + mcm import at another path", "no recompile", export_import)
    scenario("cp -r + mcm relocate", "no recompile", copy_relocate)
    scenario("cp -r, no relocate, original present", "reads the old path", copy_only("cp-only-original-present", False))
    scenario("cp -r, no relocate, original renamed away", "recompiles", copy_only("cp-only-original-away", True))
    write_summary()
    if any("error" in s for s in res["scenarios"]) or not res.get("baseline_ok"):
        return 2
    return 0 if all(s["passed"] for s in res["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
