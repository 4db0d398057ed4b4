"""Tests of python/mcm_warm.py against a stand-in for vLLM (test/python/stub). Run by `npm test`."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "..", "python", "mcm_warm.py")


def run(env, *args):
    full = dict(os.environ, PYTHONPATH=os.path.join(HERE, "stub"), **env)
    return subprocess.run([sys.executable, SCRIPT, *args], env=full, capture_output=True, text=True, timeout=60)


def tagged(stdout, tag):
    return [line[len(tag) + 1:] for line in stdout.splitlines() if line.startswith(tag + " ")]


class WarmScript(unittest.TestCase):
    def setUp(self):
        self.cache = tempfile.mkdtemp()

    def test_loads_the_model_runs_the_prompts_and_reports(self):
        r = run({"VLLM_CACHE_ROOT": self.cache, "MCM_WARM_MODEL": "org/m", "MCM_WARM_PROMPTS": '["p1", "p2"]',
                 "MCM_WARM_TP": "2", "MCM_WARM_MAX_MODEL_LEN": "512", "VLLM_API_KEY": "secret", "VLLM_X": "1"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tagged(r.stdout, "MCM-PHASE"), ["loading-model", "compiling", "done"])
        with open(os.path.join(self.cache, "llm-kwargs.json")) as f:
            self.assertEqual(json.load(f), {"model": "org/m", "tensor_parallel_size": 2, "max_model_len": 512})
        with open(os.path.join(self.cache, "generate.json")) as f:
            self.assertEqual(json.load(f)["prompts"], ["p1", "p2"])
        info = json.loads(tagged(r.stdout, "MCM-WARM-INFO")[-1])
        self.assertEqual(info["vllm_version"], "0.0.0+stub")
        self.assertEqual(info["environment"]["vllm_env_hash"], "stubhash")
        self.assertEqual(info["environment"]["variables"]["VLLM_API_KEY"], "<redacted>")
        self.assertEqual(info["environment"]["variables"]["VLLM_X"], "1")
        self.assertNotIn("secret", r.stdout)

    def test_default_model_and_prompts(self):
        r = run({"VLLM_CACHE_ROOT": self.cache})
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.cache, "llm-kwargs.json")) as f:
            self.assertEqual(json.load(f), {"model": "facebook/opt-125m"})
        with open(os.path.join(self.cache, "generate.json")) as f:
            self.assertEqual(len(json.load(f)["prompts"]), 3)

    def test_a_failing_load_exits_non_zero(self):
        r = run({"VLLM_CACHE_ROOT": self.cache, "MCM_WARM_MODEL": "fail/model"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("stub: cannot load model", r.stderr)
        self.assertEqual(tagged(r.stdout, "MCM-PHASE"), ["loading-model"])

    def test_info_only(self):
        r = run({}, "--info")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(tagged(r.stdout, "MCM-WARM-INFO")[0])
        self.assertEqual(info["python"], sys.version.split()[0])
        self.assertIsNone(info["torch_version"])


if __name__ == "__main__":
    unittest.main()
