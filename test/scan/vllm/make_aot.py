"""Writes synthetic vLLM AOT-compile `model` files, as vLLM and PyTorch lay them out.

Stands in for what cannot run here (vLLM, a GPU). The object graph follows the
sources: torch/_dynamo/aot_compile.py pickles the CompileArtifacts fields
(signature, guards_state, backend_id, compiled_fn, original_code, runtime_env,
source_info, device_type, backend_name, system_info), compiled_fn being
(VllmSerializableFunction.deserialize_compile_artifacts, <pickle bytes>).
vLLM's serialize_compile_artifacts pickles a dict with graph_module,
example_inputs, prefix, ... and, with VLLM_USE_MEGA_AOT_ARTIFACT,
standalone_compile_artifacts: submodule_bytes (name -> sha256) and
submodule_bytes_store (sha256 -> pickled (entry, triton_kernels, constants)),
where entry is a pickled bundled AOTAutograd entry holding the CompiledFxGraph
and its _triton_bundle of TritonKernelArtifacts(kernel_hash, device, artifacts).
Classes are stand-ins registered under the real module names, so the pickles
name the same globals; nothing here imports torch or vLLM.

usage: make_aot.py OUT_FILE plain|mega KERNELS_JSON
KERNELS_JSON: [{"key": ..., "name": ..., "meta": {...}, "cubin_size": N}, ...]
"""
import hashlib, json, pickle, sys, types


def module(name):
    # pickle imports the module by name: its parents must be importable too
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    return sys.modules[name]


def cls(mod, name, fields):
    m = sys.modules.get(mod) or module(mod)
    c = type(name, (), {"__module__": mod, "__qualname__": name,
                        "__init__": lambda self, **kw: self.__dict__.update(kw)})
    setattr(m, name, c)
    return c


TritonKernelArtifacts = cls("torch._inductor.triton_bundler", "TritonKernelArtifacts", ())
TritonKernelArtifact = cls("torch._inductor.triton_bundler", "TritonKernelArtifact", ())
TritonBundle = cls("torch._inductor.triton_bundler", "TritonBundle", ())
CompiledFxGraph = cls("torch._inductor.output_code", "CompiledFxGraph", ())
BundledEntry = cls("torch._functorch._aot_autograd.autograd_cache", "BundledAOTAutogradCacheEntry", ())
StandaloneCompiledArtifacts = cls("vllm.compilation.caching", "StandaloneCompiledArtifacts", ())
VllmSerializableFunction = cls("vllm.compilation.caching", "VllmSerializableFunction", ())


def deserialize_compile_artifacts(data):  # never called: only named by the pickle
    raise RuntimeError


deserialize_compile_artifacts.__module__ = "vllm.compilation.caching"
deserialize_compile_artifacts.__qualname__ = "VllmSerializableFunction.deserialize_compile_artifacts"
VllmSerializableFunction.deserialize_compile_artifacts = staticmethod(deserialize_compile_artifacts)


def kernel(k):
    name = k["name"]
    files = {
        f"{name}.json": json.dumps(k["meta"]).encode(),
        f"__grp__{name}.json": json.dumps({"child_paths": {f"{name}.cubin": f"/x/{k['key']}/{name}.cubin"}}).encode(),
        f"{name}.cubin": b"\x7fELF" + b"\0" * (k.get("cubin_size", 1000) - 4),
        f"{name}.ttir": b"module {}\n",
    }
    return TritonKernelArtifacts(kernel_hash=k["key"], device=0, artifacts=[
        TritonKernelArtifact(filename=f, payload=p) for f, p in sorted(files.items())])


def main():
    out, kind, kernels = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    state = {"graph_module": b"\x80\x04N.", "example_inputs": b"\x80\x04N.", "prefix": "backbone",
             "is_encoder": False, "sym_tensor_indices": [], "standalone_compile_artifacts": None,
             "sym_shape_indices_map": None, "returns_tuple_map": None}
    if kind == "mega":
        graph = CompiledFxGraph(source_code="# generated", _triton_bundle=TritonBundle(
            kernel_artifacts=[kernel(k) for k in kernels], static_autotuners=[]))
        entry = pickle.dumps(BundledEntry(compiled_fw=graph, compiled_bw=None), protocol=4)
        blob = pickle.dumps((entry, [], {}), protocol=4)
        digest = hashlib.sha256(blob).hexdigest()
        # two submodules of identical layers share one stored blob
        state["standalone_compile_artifacts"] = StandaloneCompiledArtifacts(
            submodule_bytes={"submod_0_(1, 8192)": digest, "submod_1_(1, 8192)": digest},
            submodule_bytes_store={digest: blob})
    artifacts = {"signature": None, "guard_manager": None, "guards_state": b"\x80\x04N.", "backend_id": "vllm",
                 "compiled_fn": (deserialize_compile_artifacts, pickle.dumps(state, protocol=4)),
                 "original_code": None, "runtime_env": None, "source_info": {"files": []},
                 "device_type": "cuda", "backend_name": "vllm", "system_info": {"torch": "2.11.0"}}
    with open(out, "wb") as f:
        f.write(pickle.dumps(artifacts, protocol=4))


main()
