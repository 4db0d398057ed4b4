"""Warm a vLLM cache: load a model, run a few generations so the compile paths run.

mcm mounts this file read-only into an official vLLM image and runs it with the
image's own Python (`mcm warm`); `--info` only reports versions and the GPU
(host mode runs it that way). Standard library only, besides vLLM itself.

It talks to mcm through stdout lines:
  MCM-PHASE <name>        a phase began (loading-model, compiling, done)
  MCM-WARM-INFO <json>    versions, GPU, vLLM's hashed environment
Everything else on stdout and stderr is vLLM's own log, which mcm streams.
"""

import importlib
import json
import os
import re
import sys

# the same names as SECRET_NAME in src/report/redact.ts
SECRET = re.compile(
    r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|SIGNATURE|(^|_)PASS(_|$)",
    re.IGNORECASE,
)
DEFAULT_PROMPTS = ["Hello, my name is", "The capital of France is", "def fibonacci(n):"]


def emit(tag, value):
    print(f"{tag} {value}", flush=True)


def version_of(module):
    try:
        return getattr(importlib.import_module(module), "__version__", None)
    except Exception:  # a missing or broken package is reported as unknown
        return None


def gpu_facts():
    """Name and arch of GPU 0 as Triton names them (cuda: "90", hip: "gfx942")."""
    try:
        import torch
    except Exception:
        return {"gpu_name": None, "backend": None, "arch": None, "gpu_count": 0}
    try:
        if not torch.cuda.is_available():
            return {"gpu_name": None, "backend": None, "arch": None, "gpu_count": 0}
        props = torch.cuda.get_device_properties(0)
        if getattr(torch.version, "hip", None):
            backend, arch = "hip", getattr(props, "gcnArchName", "").split(":")[0] or None
        else:
            backend, arch = "cuda", f"{props.major}{props.minor}"
        return {"gpu_name": props.name, "backend": backend, "arch": arch, "gpu_count": torch.cuda.device_count()}
    except Exception as e:  # no driver inside the container, say so instead of failing
        return {"gpu_name": None, "backend": None, "arch": None, "gpu_count": 0, "gpu_error": str(e)}


def hashed_environment():
    """The VLLM_* variables set (secrets redacted) and vLLM's own hash of its environment."""
    env = {k: ("<redacted>" if SECRET.search(k) else v) for k, v in sorted(os.environ.items()) if k.startswith("VLLM_")}
    env_hash = None
    try:
        import vllm.envs as envs

        if hasattr(envs, "compute_hash"):
            env_hash = envs.compute_hash()
    except Exception:
        pass
    return {"variables": env, "vllm_env_hash": env_hash}


def info():
    facts = {
        "python": sys.version.split()[0],
        "vllm_version": version_of("vllm"),
        "torch_version": version_of("torch"),
        "triton_version": version_of("triton"),
    }
    facts.update(gpu_facts())
    facts["environment"] = hashed_environment()
    try:
        # beside this file (mcm copies both): what the runtimes hash into their keys, for `mcm explain`
        import mcm_probe

        facts["probe"] = mcm_probe.probe()
    except Exception as e:
        facts["probe_error"] = f"{type(e).__name__}: {e}"
    return facts


def warm():
    model = os.environ.get("MCM_WARM_MODEL", "facebook/opt-125m")
    prompts = json.loads(os.environ.get("MCM_WARM_PROMPTS") or "null") or DEFAULT_PROMPTS
    kwargs = {"model": model}
    if os.environ.get("MCM_WARM_TP"):
        kwargs["tensor_parallel_size"] = int(os.environ["MCM_WARM_TP"])
    if os.environ.get("MCM_WARM_MAX_MODEL_LEN"):
        kwargs["max_model_len"] = int(os.environ["MCM_WARM_MAX_MODEL_LEN"])

    emit("MCM-PHASE", "loading-model")
    from vllm import LLM, SamplingParams

    llm = LLM(**kwargs)  # loading compiles the model's graphs and kernels into VLLM_CACHE_ROOT
    emit("MCM-PHASE", "compiling")
    outputs = llm.generate(prompts, SamplingParams(max_tokens=16, temperature=0.0))
    print(f"mcm-warm: generated {len(outputs)} completions", flush=True)
    emit("MCM-WARM-INFO", json.dumps(info(), sort_keys=True))
    emit("MCM-PHASE", "done")


def main(argv):
    if "--info" in argv:
        emit("MCM-WARM-INFO", json.dumps(info(), sort_keys=True))
        return 0
    warm()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
