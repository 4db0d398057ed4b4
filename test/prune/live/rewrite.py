"""One compile of a key that is already in the cache (a second rank compiling
it too), in two halves, so that a test can prune between them:

    python3 rewrite.py ROOT KEY SPEC.json stages   # puts each stage, through the binary
    python3 rewrite.py ROOT KEY SPEC.json finish   # puts the metadata, then the group file
    python3 rewrite.py ROOT KEY SPEC.json load     # one load; prints hit, miss or the error
    python3 rewrite.py ROOT KEY SPEC.json begin    # the first stage's put, up to its os.replace; prints its temp path
    python3 rewrite.py ROOT KEY SPEC.json resume TEMP  # that os.replace, then the rest of the compile

The puts are standin's (Triton 3.6's order of operations); the halves are what
one process does in a row, stopped where Triton moves from the binary to the
metadata, or inside one put: between writing its temp file and moving it in.
"""
import json
import os
import sys

import standin
from triton.runtime.cache import FileCacheManager


def main():
    root, key, spec_file, phase = sys.argv[1:5]
    os.environ["TRITON_CACHE_DIR"] = root
    with open(spec_file) as f:
        spec = json.load(f)
    name = spec["name"]
    if phase == "load":
        try:
            print(standin.load(key, spec))
        except Exception as e:  # noqa: BLE001 - the test reports what Triton would raise
            print(f"{type(e).__name__}: {e}")
        return
    first = f"{name}.{standin.STAGES[0]}"
    if phase == "resume":
        # the rest of that put (a FileNotFoundError here is what Triton would raise); the process made its
        # FileCacheManager before the put, so nothing makes the kernel folder again first
        os.replace(sys.argv[5], os.path.join(root, key, first))
        os.removedirs(os.path.dirname(sys.argv[5]))
    mgr = FileCacheManager(key)
    if phase == "begin":
        # FileCacheManager.put's steps, as far as the write of its temp file
        temp_dir = os.path.join(mgr.cache_dir, f"tmp.pid_{os.getpid()}_{os.urandom(8).hex()}")
        os.makedirs(temp_dir, exist_ok=True)
        temp_path = os.path.join(temp_dir, first)
        with open(temp_path, "wb") as f:
            f.write(standin.stage_bytes(spec, standin.STAGES[0]))
        print(temp_path)
        return
    if phase == "resume":
        for ext in standin.STAGES[1:]:
            mgr.put(standin.stage_bytes(spec, ext), f"{name}.{ext}")
        phase = "finish"
    if phase == "stages":
        for ext in standin.STAGES:
            mgr.put(standin.stage_bytes(spec, ext), f"{name}.{ext}")
        return
    group = {f"{name}.{ext}": mgr._make_path(f"{name}.{ext}") for ext in standin.STAGES}
    meta = f"{name}.json"
    group[meta] = mgr.put(json.dumps(standin.metadata(key, spec)), meta, binary=False)
    mgr.put_group(meta, group)


if __name__ == "__main__":
    main()
