"""Stands in for vLLM (it cannot be installed here): records what mcm_warm.py asked for."""
import json
import os

__version__ = "0.0.0+stub"


class SamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class LLM:
    def __init__(self, **kwargs):
        # vLLM compiles into VLLM_CACHE_ROOT while loading: leave a trace of the call there
        root = os.environ["VLLM_CACHE_ROOT"]
        with open(os.path.join(root, "llm-kwargs.json"), "w") as f:
            json.dump(kwargs, f)
        if kwargs.get("model") == "fail/model":
            raise RuntimeError("stub: cannot load model")

    def generate(self, prompts, params):
        with open(os.path.join(os.environ["VLLM_CACHE_ROOT"], "generate.json"), "w") as f:
            json.dump({"prompts": prompts, "params": params.kwargs}, f)
        return [object() for _ in prompts]
