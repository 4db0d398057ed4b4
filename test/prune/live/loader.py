"""Loads kernels from one cache in a loop, as a program relaunching Triton
kernels with its in-memory kernel cache cleared, and reports what happened.

    python3 loader.py ROOT SPECS.json SECONDS [--seed N] [--recompile P] [--stage-delay S] [--cold-share P]

SPECS.json: {"<key>": {"name", "variant", "size"}}; half the keys are loaded
all the time, the other half get only --cold-share of the loads. Prints one JSON object:
loads, hits, misses, exceptions (by type) and the first few tracebacks. Stops
after SECONDS or on SIGTERM. --recompile P: a load compiles again with
probability P even on a hit (a second rank compiling the same key), which also
puts back what an IR-only prune removed.
"""
import argparse
import json
import os
import random
import signal
import sys
import time
import traceback

import standin

stop = False


def on_term(_signum, _frame):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("specs")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--recompile", type=float, default=0.0)
    ap.add_argument("--stage-delay", type=float, default=0.0)
    ap.add_argument("--cold-share", type=float, default=0.5)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    os.environ["TRITON_CACHE_DIR"] = a.root
    with open(a.specs) as f:
        specs = json.load(f)
    keys = sorted(specs)
    # programs use some kernels all the time and others rarely: half the keys get --cold-share of the loads
    hot, cold = keys[: len(keys) // 2], keys[len(keys) // 2 :]
    rnd = random.Random(a.seed)
    out = {"loads": 0, "hits": 0, "misses": 0, "exceptions": {}, "tracebacks": []}
    deadline = time.monotonic() + a.seconds
    print("ready", file=sys.stderr, flush=True)
    while not stop and time.monotonic() < deadline:
        key = rnd.choice(cold if rnd.random() < a.cold_share else hot)
        try:
            r = standin.load(key, specs[key], always_compile=rnd.random() < a.recompile, stage_delay=a.stage_delay)
            out["hits" if r == "hit" else "misses"] += 1
        except Exception as e:  # what the program would have crashed with
            name = type(e).__name__
            out["exceptions"][name] = out["exceptions"].get(name, 0) + 1
            if len(out["tracebacks"]) < 5:
                out["tracebacks"].append(traceback.format_exc(limit=3))
        out["loads"] += 1
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
