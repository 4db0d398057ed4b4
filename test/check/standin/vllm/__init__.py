from ._standin import FACTS

if "vllm" not in FACTS:
    raise ImportError("No module named 'vllm' (the stand-in has no vllm part)")
__version__ = FACTS["vllm"]["version"]
