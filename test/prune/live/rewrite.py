"""One compile of a key that is already in the cache (a second rank compiling
it too), in two halves, so that a test can prune between them:

    python3 rewrite.py ROOT KEY SPEC.json stages   # puts each stage, through the binary
    python3 rewrite.py ROOT KEY SPEC.json finish   # puts the metadata, then the group file
    python3 rewrite.py ROOT KEY SPEC.json load     # one load; prints hit, miss or the error

The puts are standin's (Triton 3.6's order of operations); the halves are what
one process does in a row, stopped where Triton moves from the binary to the
metadata.
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
    mgr = FileCacheManager(key)
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
