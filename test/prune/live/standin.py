"""A stand-in for what Triton 3.6 does with its cache when it loads a kernel
(Triton and a GPU cannot run in CI). Same files, same order of operations:

- FileCacheManager(key) makes the kernel folder (os.makedirs, exist_ok);
- get_group(f"{name}.json") checks the group file exists, opens it, and keeps
  the child paths that os.path.exists;
- a hit builds CompiledKernel(group): it reads the metadata (.json), then every
  other child file, and fails with KeyError when the binary is not among them;
- a miss compiles: each stage is put() in turn (a tmp.pid_<pid>_<id> folder in
  the kernel folder, a write, os.replace, rmdir), then the metadata, then
  put_group(), and the result is read back as on a hit.

FileCacheManager is the one of test/python/stub (the tracker's tests use it
too); it reads TRITON_CACHE_DIR, as Triton's does. Standard library only.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "stub"))
from triton.runtime.cache import FileCacheManager  # noqa: E402

STAGES = ["source", "ttir", "ttgir", "llir", "ptx", "cubin"]
BINARY = "cubin"


class CompiledKernel:
    def __init__(self, group, expected):
        metadata_path = next(p for c, p in group.items() if c.endswith(".json"))
        with open(metadata_path) as f:
            self.metadata = json.load(f)
        asm = {}
        for c, p in group.items():
            if c.endswith(".json"):
                continue
            with open(p, "rb") as f:
                asm[c.rsplit(".", 1)[1]] = f.read()
        self.kernel = asm[BINARY]
        if self.kernel != expected:
            raise ValueError(f"binary of {metadata_path} holds another kernel's bytes")


def stage_bytes(spec, ext):
    """Deterministic content: twins (same spec) compile to identical files, as two keys of one kernel can."""
    body = f"{spec['name']} {spec['variant']} {ext} ".encode()
    return body * (spec["size"] // len(body) + 1)


def metadata(key, spec):
    return {
        "hash": key.lower(),
        "target": {"backend": "cuda", "arch": 90, "warp_size": 32},
        "num_warps": 4,
        "num_stages": 3,
        "num_ctas": 1,
        "triton_version": "3.6.0",
        "shared": 0,
        "name": spec["name"],
        "variant": spec["variant"],
    }


def load(key, spec, always_compile=False, stage_delay=0.0):
    """One kernel load as jit's run() does it, in TRITON_CACHE_DIR: returns "hit" or "miss"."""
    mgr = FileCacheManager(key)
    name = spec["name"]
    metadata_filename = f"{name}.json"
    group = mgr.get_group(metadata_filename) or {}
    expected = stage_bytes(spec, BINARY)
    if not always_compile and group.get(metadata_filename) is not None:
        CompiledKernel(group, expected)
        return "hit"
    group = {}
    for ext in STAGES:
        if stage_delay:
            time.sleep(stage_delay)
        group[f"{name}.{ext}"] = mgr.put(stage_bytes(spec, ext), f"{name}.{ext}")
    group[metadata_filename] = mgr.put(json.dumps(metadata(key, spec)), metadata_filename, binary=False)
    mgr.put_group(metadata_filename, group)
    CompiledKernel(group, expected)
    return "miss"
