"""What this Python's Triton, PyTorch and vLLM put into their cache keys.

`mcm explain` and `mcm check` run this with the user's Python (`--python`);
`mcm warm` runs it beside the workload and records the answer in mcm-warm.json.
It prints one JSON object. Every part is asked of the runtime itself, through
the functions the runtime uses to build its keys, and a part that cannot be
asked says why ("error") instead of guessing. Standard library only, besides
the runtimes it asks; it compiles nothing and writes nothing.
"""

import json
import os
import re
import sys

FORMAT = "mcm-probe/1"
# variables that steer where caches go or what they hold, shown beside the cache's
ENV_PREFIXES = ("TRITON_", "TORCHINDUCTOR_", "TORCH_", "VLLM_", "CUDA_", "XDG_")
ENV_NAMES = ("HOME", "USER", "LD_LIBRARY_PATH")
# the same names as SECRET_NAME in src/report/redact.ts
SECRET = re.compile(
    r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|SIGNATURE|(^|_)PASS(_|$)",
    re.IGNORECASE,
)


def why(e):
    return f"{type(e).__name__}: {e}".splitlines()[0][:300]


def environment():
    out = {}
    for k, v in sorted(os.environ.items()):
        if k.startswith(ENV_PREFIXES) or k in ENV_NAMES:
            out[k] = "<redacted>" if SECRET.search(k) else v
    return out


def ptxas_version(arch):
    """The ptxas Triton's CUDA backend hashes for this arch: its own get_ptxas / get_ptxas_version."""
    from triton.backends.nvidia import compiler as nv

    try:
        tool = nv.get_ptxas(arch)
    except TypeError:  # older Triton: no arch argument
        tool = nv.get_ptxas()
    path = getattr(tool, "path", tool[0] if isinstance(tool, tuple) else tool)
    try:
        text = nv.get_ptxas_version(arch)
    except TypeError:
        text = nv.get_ptxas_version()
    for line in str(text).splitlines():
        if "release" in line:
            return {"path": path, "version": line.strip()}
    return {"path": path, "error": "its --version printed no release line"}


def first_of(*importers):
    """The first importer that works, with the reasons the others failed."""
    errors = []
    for f in importers:
        try:
            return f(), None
        except Exception as e:
            errors.append(why(e))
    return None, "; ".join(errors)


def _triton_key_from_triton():
    from triton.compiler.compiler import triton_key

    return triton_key()


def _triton_key_from_torch():
    # PyTorch's own import of it, as Inductor puts it into system_info
    from torch._inductor.runtime.triton_compat import triton_key

    return triton_key()


def triton_facts():
    try:
        import triton
    except Exception as e:
        return {"error": why(e)}
    out = {"version": getattr(triton, "__version__", None)}
    key, err = first_of(_triton_key_from_triton, _triton_key_from_torch)
    if key is not None:
        out["key"] = key
    else:
        out["key_error"] = err
    try:
        from triton._C.libtriton import get_cache_invalidating_env_vars

        out["hashed_env"] = dict(get_cache_invalidating_env_vars())
    except Exception as e:
        out["hashed_env_error"] = why(e)
    try:
        from triton.compiler.compiler import make_backend
        from triton.runtime.driver import driver

        target = driver.active.get_current_target()
        out["target"] = {"backend": target.backend, "arch": str(target.arch), "warp_size": target.warp_size}
        out["backend_hash"] = str(make_backend(target).hash())
    except Exception as e:
        out["target_error"] = why(e)
    if out.get("target", {}).get("backend") == "cuda":
        try:
            out["ptxas"] = ptxas_version(int(out["target"]["arch"]))
        except Exception as e:
            out["ptxas"] = {"error": why(e)}
    return out


def torch_facts():
    try:
        import torch
    except Exception as e:
        return {"error": why(e)}
    out = {"version": getattr(torch, "__version__", None), "cuda": getattr(torch.version, "cuda", None)}
    try:
        from torch._inductor.codecache import CacheBase, torch_key

        system = CacheBase.get_system()
        key = torch_key()
        out["system"] = system
        out["torch_key"] = key.hex() if isinstance(key, bytes) else str(key)
    except Exception as e:
        out["system_error"] = why(e)
        return out
    try:
        # The lines Inductor writes into each FX-graph entry (_fx_graph_cache_debug_lines),
        # made by its own pickler from the same machine-wide parts of the key.
        from torch._inductor import config
        from torch._inductor.codecache import FxGraphCachePickler

        class Details:
            pass

        d = Details()
        d.torch_version = key
        d.system_info = system
        d.inductor_config = config.save_config_portable(ignore_private_configs=False)
        gm = torch.fx.GraphModule(torch.nn.Module(), torch.fx.Graph())
        out["fx_lines"] = FxGraphCachePickler(gm).debug_lines(d)
    except Exception as e:
        out["fx_lines_error"] = why(e)
    return out


def vllm_facts():
    try:
        import vllm
    except Exception as e:
        return {"error": why(e)}
    out = {"version": getattr(vllm, "__version__", None)}
    try:
        import vllm.envs as envs

        if hasattr(envs, "compile_factors"):
            out["env_factors"] = json.loads(json.dumps(envs.compile_factors(), default=str))
        if hasattr(envs, "compute_hash"):
            out["env_hash"] = envs.compute_hash()
    except Exception as e:
        out["env_error"] = why(e)
    return out


def vllm_home_defaults():
    """vLLM's defaults for the paths it hashes that derive from $HOME and XDG (vllm/envs.py)."""
    home = os.path.expanduser("~")
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return {
        "VLLM_CONFIG_ROOT": os.path.expanduser(os.environ.get("VLLM_CONFIG_ROOT") or os.path.join(config, "vllm")),
        "VLLM_XLA_CACHE_PATH": os.path.expanduser(
            os.environ.get("VLLM_XLA_CACHE_PATH") or os.path.join(cache, "vllm", "xla_cache")
        ),
    }


def probe():
    return {
        "format": FORMAT,
        "python": {"executable": sys.executable, "version": sys.version.split()[0]},
        "env": environment(),
        "triton": triton_facts(),
        "torch": torch_facts(),
        "vllm": vllm_facts(),
        "vllm_home_defaults": vllm_home_defaults(),
    }


if __name__ == "__main__":
    # the runtimes may log on stdout while importing: the answer is the last line
    print(json.dumps(probe(), sort_keys=True, default=str))
