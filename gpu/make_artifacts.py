#!/usr/bin/env python3
"""Makes small, real vLLM-style compile-cache artifacts on a CUDA machine, plus ground truth.

Run as:  python3 make_artifacts.py            (orchestrator; writes everything under $OUT)
Each phase runs in its own fresh process with its own empty TORCHINDUCTOR_CACHE_DIR,
TRITON_CACHE_DIR and TRITON_HOME (set before torch is imported):

  compile_std  Dynamo captures two small graphs (RMSNorm+Linear+SiLU*mul; add+RMSNorm) with a
               dynamic first dim; torch._inductor.standalone_compile compiles them; the results
               are saved the way vLLM's InductorStandaloneAdaptor saves them (binary, unpacked,
               and, if this PyTorch has standalone_compile(aot=True), an AOT-mode binary).
  compile_aot  torch.compile(fn, fullgraph=True).aot_compile(...).save_compiled_function(...)
               into vLLM's torch_aot_compile/<hash>/rank_0_0/model layout.
  load         loads one saved artifact in a fresh process, runs it, compares with eager, and
               records which Triton kernels the load restored and the torch counters.

Outputs ($OUT): vllm-artifacts-h200.json, h200-vllm-artifacts.tar.gz, torch-src.tar.gz,
run-logs.txt. Standard library + torch only.
"""
import base64
import concurrent.futures
import hashlib
import importlib.util
import json
import os
import pickletools
import re
import shutil
import subprocess
import sys
import tarfile
import time
import traceback
import zlib

SCRIPT = os.path.abspath(__file__)
WORK = os.environ.get("MCM_ART_WORK", "/tmp/mcm-vllm-art")
OUT = os.environ.get("OUT") or os.path.join(WORK, "out")
HIDDEN = 256
INTER = 256  # w_up is (2*INTER, HIDDEN)
EXAMPLE_S = 16  # example batch size used when compiling
RUN_SIZES = (64, 200)  # sizes the loaded artifacts are run at
RANGE = (1, 512)


def _h10(tag):
    return hashlib.sha256(tag.encode()).hexdigest()[:10]


# vLLM-style layout. The 10-hex directory names are derived the way vLLM derives them
# (a truncated hash of the factor hashes); here the factors are synthetic.
FACTORS = {
    "binary": {"code_hash": hashlib.sha256(b"mcm-code").hexdigest(),
               "compiler_hash": hashlib.md5(b"mcm-compiler").hexdigest()[:10],
               "config_hash": hashlib.sha256(b"mcm-config-binary").hexdigest()[:10]},
    "unpacked": {"code_hash": hashlib.sha256(b"mcm-code").hexdigest(),
                 "compiler_hash": hashlib.md5(b"mcm-compiler").hexdigest()[:10],
                 "config_hash": hashlib.sha256(b"mcm-config-unpacked").hexdigest()[:10]},
    "aotmode": {"code_hash": hashlib.sha256(b"mcm-code").hexdigest(),
                "compiler_hash": hashlib.md5(b"mcm-compiler").hexdigest()[:10],
                "config_hash": hashlib.sha256(b"mcm-config-aotmode").hexdigest()[:10]},
}
for _k, _f in FACTORS.items():
    _f["dir_hash"] = hashlib.md5(
        str([_f["config_hash"], _f["code_hash"], _f["compiler_hash"]]).encode()).hexdigest()[:10]
H_AOT = _h10("mcm-aot-model")

TOP_STD, TOP_UNP, TOP_AOT, TOP_SAOT = "vllm-standalone", "vllm-unpacked", "vllm-aot", "vllm-standalone-aotmode"
BACKBONE_STD = f"{WORK}/{TOP_STD}/torch_compile_cache/{FACTORS['binary']['dir_hash']}/rank_0_0/backbone"
BACKBONE_UNP = f"{WORK}/{TOP_UNP}/torch_compile_cache/{FACTORS['unpacked']['dir_hash']}/rank_0_0/backbone"
BACKBONE_SAOT = f"{WORK}/{TOP_SAOT}/torch_compile_cache/{FACTORS['aotmode']['dir_hash']}/rank_0_0/backbone"
AOT_MODEL = f"{WORK}/{TOP_AOT}/torch_compile_cache/torch_aot_compile/{H_AOT}/rank_0_0/model"


def art_name(i):
    return f"artifact_compile_range_{RANGE[0]}_{RANGE[1]}_subgraph_{i}"


# ----------------------------------------------------------------------------------------
# The model code (module level, so a fresh process can rebuild the eager reference and
# so the AOT loader can hand these globals to the deserialized bytecode).
# ----------------------------------------------------------------------------------------

def rms_norm(x, w, eps=1e-6):
    import torch
    xf = x.float()
    var = xf.pow(2).mean(-1, keepdim=True)
    return (xf * torch.rsqrt(var + eps)).to(x.dtype) * w


def fn0(x, w_norm, w_up):
    """subgraph 0: RMSNorm -> Linear(256 -> 512) -> SiLU(gate) * up."""
    import torch
    h = rms_norm(x, w_norm)
    gu = torch.nn.functional.linear(h, w_up)
    g, u = gu.chunk(2, dim=-1)
    return torch.nn.functional.silu(g) * u


def fn1(x, residual, w_norm):
    """subgraph 1: fused residual add + RMSNorm."""
    h = x + residual
    return rms_norm(h, w_norm), h


def aot_fn(x, w_norm, w_up):
    return fn0(x, w_norm, w_up)


FNS = {"g0": fn0, "g1": fn1, "aot": aot_fn}
ARGS = {"g0": ["x", "w_norm", "w_up"], "g1": ["x", "residual", "w_norm"], "aot": ["x", "w_norm", "w_up"]}


def make_tensor(arg, s):
    import torch
    seeds = {"x": 1, "residual": 2, "w_norm": 3, "w_up": 4}
    gen = torch.Generator(device="cuda").manual_seed(seeds[arg] * 1000 + (s if arg in ("x", "residual") else 0))
    if arg in ("x", "residual"):
        return torch.randn((s, HIDDEN), generator=gen, device="cuda", dtype=torch.float16)
    if arg == "w_norm":
        return 1 + 0.1 * torch.randn((HIDDEN,), generator=gen, device="cuda", dtype=torch.float16)
    if arg == "w_up":
        return torch.randn((2 * INTER, HIDDEN), generator=gen, device="cuda", dtype=torch.float16) / 16
    raise KeyError(arg)


def as_list(out):
    import torch
    if isinstance(out, torch.Tensor):
        return [out]
    return [o for o in out]


def compare(outs, refs):
    import torch
    outs, refs = as_list(outs), as_list(refs)
    if len(outs) != len(refs):
        return {"ok": False, "why": f"{len(outs)} outputs vs {len(refs)} eager"}
    errs, ok = [], True
    for o, r in zip(outs, refs):
        if tuple(o.shape) != tuple(r.shape):
            return {"ok": False, "why": f"shape {tuple(o.shape)} vs {tuple(r.shape)}"}
        errs.append(float((o.float() - r.float()).abs().max()))
        ok = ok and bool(torch.allclose(o.float(), r.float(), atol=3e-2, rtol=3e-2))
    return {"ok": ok, "max_abs_err": errs, "shapes": [list(o.shape) for o in outs]}


# ----------------------------------------------------------------------------------------
# Helpers that need no torch
# ----------------------------------------------------------------------------------------

def scan_kernels(roots):
    """Triton kernel metadata files (<name>.json with hash+name, not __grp__*) under roots."""
    found = []
    for label, root in roots.items():
        if not root or not os.path.isdir(root):
            continue
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                if not f.endswith(".json") or f.startswith("__grp__"):
                    continue
                p = os.path.join(dirpath, f)
                try:
                    with open(p, "rb") as fh:
                        d = json.loads(fh.read())
                except Exception:
                    continue
                if not isinstance(d, dict) or "hash" not in d or "name" not in d:
                    continue
                tgt = d.get("target")
                files_in_dir = sorted(os.listdir(dirpath))
                found.append({
                    "root": label, "rel": os.path.relpath(p, root), "dir": os.path.basename(dirpath),
                    "hash": d.get("hash"), "name": d.get("name"), "target": tgt,
                    "triton_version": d.get("triton_version"), "num_warps": d.get("num_warps"),
                    "num_stages": d.get("num_stages"), "shared": d.get("shared"),
                    "dir_equals_hash": os.path.basename(dirpath) == d.get("hash"),
                    "files": files_in_dir, "keys": sorted(d.keys()),
                })
    return found


def kernel_summary(kernels):
    def tkey(t):
        return json.dumps(t, sort_keys=True) if not isinstance(t, str) else t
    return {
        "count": len(kernels),
        "distinct_hashes": sorted({k["hash"] for k in kernels}),
        "names": sorted({k["name"] for k in kernels}),
        "targets": sorted({tkey(k["target"]) for k in kernels}),
        "triton_versions": sorted({str(k["triton_version"]) for k in kernels}),
        "roots": sorted({k["root"] for k in kernels}),
    }


def tree(root, limit=400):
    out = []
    if not root or not os.path.exists(root):
        return out
    if os.path.isfile(root):
        return [{"rel": os.path.basename(root), "size": os.path.getsize(root)}]
    for dirpath, _dirs, files in os.walk(root):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            out.append({"rel": os.path.relpath(p, root), "size": os.path.getsize(p)})
            if len(out) >= limit:
                return out
    return sorted(out, key=lambda e: e["rel"])


def path_size(p):
    if os.path.isfile(p):
        return os.path.getsize(p)
    return sum(e["size"] for e in tree(p, limit=100000))


def sha256_path(p):
    h = hashlib.sha256()
    if os.path.isfile(p):
        with open(p, "rb") as f:
            h.update(f.read())
        return h.hexdigest()
    for e in tree(p, limit=100000):
        h.update(e["rel"].encode())
        with open(os.path.join(p, e["rel"]), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def all_bytes(p):
    if os.path.isfile(p):
        with open(p, "rb") as f:
            return [f.read()]
    res = []
    for e in tree(p, limit=100000):
        with open(os.path.join(p, e["rel"]), "rb") as f:
            res.append(f.read())
    return res


def strings_found(p, needles):
    blobs = all_bytes(p) if p and os.path.exists(p) else []
    return {n: any(n.encode() in b for b in blobs) for n in needles if n}


class Rd:
    """torch.utils._appending_byte_serializer.BytesReader, re-implemented to check the format."""

    def __init__(self, data):
        self.d = data
        self.i = 4
        self.crc_ok = zlib.crc32(data[4:]).to_bytes(4, "big") == data[:4]

    def u64(self):
        if self.i + 8 > len(self.d):
            raise ValueError("short u64")
        v = int.from_bytes(self.d[self.i:self.i + 8], "big")
        self.i += 8
        return v

    def b(self):
        n = self.u64()
        if self.i + n > len(self.d):
            raise ValueError(f"record length {n} past end at {self.i}")
        v = self.d[self.i:self.i + n]
        self.i += n
        return v

    def s(self):
        return base64.b64decode(self.b()).decode("utf-8")

    def done(self):
        return self.i == len(self.d)


def pickle_summary(data, depth=0):
    """Walk a pickle's opcode stream without importing its classes."""
    res = {"len": len(data), "proto": None, "globals": [], "bytes_blobs": 0, "elf_blobs": 0,
           "elf_sizes": [], "json_blobs": [], "nested_pickles": [], "filenames": [],
           "triton_names": [], "ops": 0, "complete": False}
    memo, recent, last = {}, [], None
    globs = set()
    try:
        for op, arg, _pos in pickletools.genops(data):
            res["ops"] += 1
            n = op.name
            if n == "PROTO":
                res["proto"] = arg
                continue
            if n in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                last = arg
                recent.append(arg)
                if re.search(r"\.(cubin|json|ptx|ttir|ttgir|llir|source|hsaco|py|so)$", arg):
                    if len(res["filenames"]) < 60:
                        res["filenames"].append(arg)
                if re.match(r"^triton_[a-z]+_", arg) and arg not in res["triton_names"]:
                    res["triton_names"].append(arg)
            elif n in ("BINGET", "LONG_BINGET", "GET"):
                last = memo.get(arg)
                recent.append(last)
            elif n == "MEMOIZE":
                memo[len(memo)] = last
            elif n in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = last
            elif n == "GLOBAL":
                globs.add(arg.replace(" ", "."))
                recent.append(None)
            elif n == "STACK_GLOBAL":
                if len(recent) >= 2 and isinstance(recent[-2], str) and isinstance(recent[-1], str):
                    globs.add(f"{recent[-2]}.{recent[-1]}")
                recent.append(None)
                last = None
            elif n in ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8"):
                b = bytes(arg)
                res["bytes_blobs"] += 1
                last = None
                recent.append(None)
                if b[:4] == b"\x7fELF":
                    res["elf_blobs"] += 1
                    res["elf_sizes"].append(len(b))
                elif b[:1] == b"{":
                    try:
                        j = json.loads(b)
                        if isinstance(j, dict) and "hash" in j and "name" in j:
                            res["json_blobs"].append({"name": j.get("name"), "hash": j.get("hash"),
                                                      "target": j.get("target"),
                                                      "triton_version": j.get("triton_version")})
                    except Exception:
                        pass
                elif b[:1] == b"\x80" and depth < 3 and len(b) > 16:
                    res["nested_pickles"].append(pickle_summary(b, depth + 1))
            else:
                last = None
                recent.append(None)
            if len(recent) > 8:
                recent = recent[-8:]
        res["complete"] = True
    except Exception as e:
        res["error"] = repr(e)[:300]
    res["globals"] = sorted(globs)[:200]
    return res


def classify(data):
    c = {"first64_hex": data[:64].hex(), "size": len(data)}
    c["is_zip"] = data[:4] == b"PK\x03\x04"
    c["is_pickle"] = data[:1] == b"\x80" and len(data) > 2 and data[1] in (2, 3, 4, 5)
    c["is_byteswriter"] = len(data) >= 12 and zlib.crc32(data[4:]).to_bytes(4, "big") == data[:4]
    return c


def decode_standalone_binary(p):
    """Parse a CompiledArtifact.save(format='binary') file record by record."""
    with open(p, "rb") as f:
        data = f.read()
    out = classify(data)
    try:
        r = Rd(data)
        out["crc_ok"] = r.crc_ok
        recs = []
        first = r.b()
        if first in (b"CacheCompiledArtifact", b"AOTCompiledArtifact"):
            out["header"] = first.decode()
            recs.append({"what": "header", "len": len(first)})
            tk = r.b()
        else:
            out["header"] = None  # older layout: torch_key first
            tk = first
        out["torch_key_hex"] = tk.hex()
        recs.append({"what": "torch_key", "len": len(tk)})
        if out["header"] in (None, "CacheCompiledArtifact"):
            key = r.s()
            out["aot_autograd_key"] = key
            recs.append({"what": "key(base64 str)", "len": len(base64.b64encode(key.encode()))})
            inner = r.b()
            recs.append({"what": "cache_artifacts", "len": len(inner)})
            out["inner"] = decode_mega_cache(inner)
        else:
            inner = r.b()
            recs.append({"what": "aot_artifact", "len": len(inner)})
            out["inner"] = {"classify": classify(inner), "pickle": pickle_summary(inner) if inner[:1] == b"\x80" else None}
        out["records"] = recs
        out["finished"] = r.done()
    except Exception as e:
        out["decode_error"] = repr(e)[:500]
    return out


def decode_mega_cache(inner):
    """torch.compiler.save_cache_artifacts() bytes: crc32, u64 version, then per type:
    str type, u64 count, count x (str key, bytes content)."""
    out = {"len": len(inner)}
    r = Rd(inner)
    out["crc_ok"] = r.crc_ok
    out["version"] = r.u64()
    groups = []
    while not r.done():
        typ = r.s()
        n = r.u64()
        items = []
        for _ in range(n):
            key = r.s()
            content = r.b()
            it = {"key": key, "len": len(content), "first16_hex": content[:16].hex()}
            if content[:1] == b"\x80":
                it["pickle"] = pickle_summary(content)
            items.append(it)
        groups.append({"type": typ, "count": n, "items": items})
    out["groups"] = groups
    return out


# ----------------------------------------------------------------------------------------
# Torch-side helpers (only called inside phase processes)
# ----------------------------------------------------------------------------------------

def versions():
    import platform
    import torch
    import triton
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "torch_cuda": torch.version.cuda, "triton": triton.__version__,
            "gpu": torch.cuda.get_device_name(0), "capability": list(torch.cuda.get_device_capability(0))}
    try:
        from torch._inductor.codecache import torch_key
        info["torch_key_hex"] = torch_key().hex()
    except Exception as e:
        info["torch_key_error"] = repr(e)
    try:
        import torch._inductor.config as ic
        import torch._functorch.config as fc
        for k in ("bundle_triton_into_fx_graph_cache", "use_static_cuda_launcher", "fx_graph_cache",
                  "autotune_local_cache", "compile_threads", "force_disable_caches"):
            info[f"inductor.{k}"] = repr(getattr(ic, k, "<absent>"))
        for k in ("enable_autograd_cache", "bundled_autograd_cache", "strict_autograd_cache"):
            info[f"functorch.{k}"] = repr(getattr(fc, k, "<absent>"))
    except Exception as e:
        info["config_error"] = repr(e)
    return info


def counters_dict():
    from torch._dynamo.utils import counters
    return {k: dict(v) for k, v in counters.items() if len(v)}


def install_triton_probe(stats, roots):
    """Wrap triton.compile wherever torch/triton modules hold it; count calls and calls
    that wrote new files into the cache roots (a real compile rather than a cache hit)."""
    for m in ("torch._inductor.runtime.triton_heuristics", "torch._inductor.async_compile",
              "torch._inductor.codecache", "torch._inductor.runtime.triton_compat",
              "torch._inductor.runtime.static_cuda_launcher"):
        try:
            __import__(m)
        except Exception:
            pass
    import triton.compiler.compiler as tcc
    orig = tcc.compile

    def snap():
        s = set()
        for r in roots.values():
            if r and os.path.isdir(r):
                for dp, _d, fs in os.walk(r):
                    s.update(os.path.join(dp, f) for f in fs)
        return s

    def wrapped(*a, **k):
        before = snap()
        res = orig(*a, **k)
        new = snap() - before
        stats["calls"] += 1
        if new:
            stats["calls_writing_files"] += 1
        return res

    patched = []
    for name, mod in list(sys.modules.items()):
        if not (name.startswith("triton") or name.startswith("torch._inductor")) or mod is None:
            continue
        try:
            for attr, val in list(vars(mod).items()):
                if val is orig:
                    setattr(mod, attr, wrapped)
                    patched.append(f"{name}.{attr}")
        except Exception:
            pass
    stats["patched"] = patched


def placeholders_of(gm, example_inputs):
    import torch
    nodes = [n for n in gm.graph.nodes if n.op == "placeholder"]
    res = []
    for node, inp in zip(nodes, example_inputs):
        if isinstance(inp, (int, torch.SymInt)):
            res.append({"name": node.name, "kind": "sym", "value": str(inp)})
        elif isinstance(inp, torch.Tensor):
            m = re.match(r"^l_(.+)_$", node.name, re.I)
            ev = node.meta.get("example_value")
            dims = ev.shape if isinstance(ev, torch.Tensor) else inp.shape
            shape = [int(d) if isinstance(d, int) else "s" for d in dims]
            res.append({"name": node.name, "kind": "tensor", "arg": m.group(1) if m else node.name,
                        "shape": shape, "dtype": str(inp.dtype), "symbolic_shape": [str(d) for d in dims],
                        "backend_example_input_type": type(inp).__name__})
        else:
            res.append({"name": node.name, "kind": "other", "type": type(inp).__name__})
    return res


def build_call(graph, placeholders, s):
    tensors = {a: make_tensor(a, s) for a in ARGS[graph]}
    call = []
    for p in placeholders:
        if p["kind"] == "sym":
            call.append(s)
        elif p["kind"] == "tensor":
            call.append(tensors[p["arg"]])
        else:
            raise RuntimeError(f"unsupported placeholder {p}")
    return call, tensors


def write_vllm_sidecars(backbone, kind, entries, graph_code):
    """cache_key_factors.json, vllm_compile_cache.py and computation_graph.py, as vLLM writes them."""
    import pprint
    os.makedirs(backbone, exist_ok=True)
    f = FACTORS[kind]
    env = {"VLLM_COMPILE_CACHE_SAVE_FORMAT": "unpacked" if kind == "unpacked" else "binary",
           "VLLM_TARGET_DEVICE": "cuda", "VLLM_MAIN_CUDA_VERSION": "13.0",
           "VLLM_USE_AOT_COMPILE": False, "VLLM_USE_MEGA_AOT_ARTIFACT": kind == "aotmode",
           "VLLM_USE_STANDALONE_COMPILE": True}
    meta = {"code_hash": f["code_hash"], "compiler_hash": f["compiler_hash"], "config_hash": f["config_hash"],
            "env": env, "config": {"note": "synthetic factors written by mcm gpu/make_artifacts.py"},
            "compiler": {"torch_version": __import__("torch").__version__}, "code": []}
    with open(os.path.join(backbone, "cache_key_factors.json"), "w") as fh:
        json.dump(meta, fh, indent=2, sort_keys=True)
    cache = {(RANGE, i, "inductor_standalone"): (art_name(i), path) for i, path in entries}
    text = pprint.PrettyPrinter(indent=4).pformat(cache)
    with open(os.path.join(backbone, "vllm_compile_cache.py"), "w") as fh:
        fh.write(text)
    if graph_code:
        with open(os.path.join(backbone, "computation_graph.py"), "w") as fh:
            fh.write(graph_code)
    return {"vllm_compile_cache.py": text, "cache_key_factors.json": meta}


# ----------------------------------------------------------------------------------------
# Phases
# ----------------------------------------------------------------------------------------

def phase_compile_std(spec):
    import importlib
    import inspect
    import torch
    import torch._inductor
    res = {"versions": versions()}
    sc_mod = importlib.import_module("torch._inductor.standalone_compile")
    res["signature_public"] = str(inspect.signature(torch._inductor.standalone_compile))
    res["signature_impl"] = str(inspect.signature(sc_mod.standalone_compile))
    print("standalone_compile", res["signature_public"], "| impl", res["signature_impl"], flush=True)
    CA = getattr(torch._inductor, "CompiledArtifact", None) or sc_mod.CompiledArtifact
    res["CompiledArtifact"] = f"{CA.__module__}.{CA.__qualname__}"
    res["CompiledArtifact_dir"] = [n for n in dir(CA) if not n.startswith("__")]
    res["CompiledArtifact_load_sig"] = str(inspect.signature(CA.load))
    res["module_classes"] = [n for n, v in vars(sc_mod).items() if isinstance(v, type) and v.__module__ == sc_mod.__name__]
    has_aot = "aot" in inspect.signature(sc_mod.standalone_compile).parameters
    public_has_aot = "aot" in inspect.signature(torch._inductor.standalone_compile).parameters
    res["has_aot_param"] = {"impl": has_aot, "public": public_has_aot}
    options = {"config_patches": {"fx_graph_cache": True, "fx_graph_remote_cache": False}}
    res["options"] = options
    arts, graphs = {}, {}
    errors = res.setdefault("errors", {})

    def sc(gm, inputs, tag, aot=False):
        for mode in ("from_graph", "from_tracing_context", "from_example_inputs"):
            try:
                t0 = time.time()
                kw = {"dynamic_shapes": mode, "options": options}
                fn = torch._inductor.standalone_compile
                if aot:
                    kw["aot"] = True
                    if not public_has_aot:
                        fn = sc_mod.standalone_compile
                art = fn(gm, inputs, **kw)
                res.setdefault("compile", {})[tag] = {"dynamic_shapes": mode, "seconds": round(time.time() - t0, 2),
                                                      "type": f"{type(art).__module__}.{type(art).__qualname__}",
                                                      "artifacts_info": _cache_info(art)}
                return art
            except Exception as e:
                errors[f"{tag}:{mode}"] = traceback.format_exc()[-3000:]
                print(f"standalone_compile {tag} {mode} failed: {e!r}", flush=True)
        return None

    def backend_for(gname):
        def be(gm, example_inputs):
            graphs[gname] = {"placeholders": placeholders_of(gm, example_inputs),
                             "code": gm.print_readable(print_output=False)}
            arts[gname] = sc(gm, example_inputs, gname)
            if gname == "g0":
                arts["g0_repeat"] = sc(gm, example_inputs, "g0_repeat")
                if has_aot:
                    arts["g0_aotmode"] = sc(gm, example_inputs, "g0_aotmode", aot=True)
            return gm.forward
        return be

    with torch.no_grad():
        for gname in ("g0", "g1"):
            tensors = {a: make_tensor(a, EXAMPLE_S) for a in ARGS[gname]}
            for a in ("x", "residual"):
                if a in tensors:
                    torch._dynamo.maybe_mark_dynamic(tensors[a], 0)
            try:
                torch._dynamo.reset()
                cfn = torch.compile(FNS[gname], backend=backend_for(gname), fullgraph=True)
                cfn(*[tensors[a] for a in ARGS[gname]])
            except Exception:
                errors[f"dynamo:{gname}"] = traceback.format_exc()[-3000:]
    res["graphs"] = {g: {"placeholders": v["placeholders"]} for g, v in graphs.items()}

    # fresh artifacts: run once and compare with eager
    for tag, art in arts.items():
        if art is None:
            continue
        g = "g0" if tag.startswith("g0") else tag
        try:
            call, tensors = build_call(g, graphs[g]["placeholders"], RUN_SIZES[0])
            with torch.no_grad():
                res.setdefault("fresh_call", {})[tag] = compare(art(*call), FNS[g](**tensors))
        except Exception:
            errors[f"fresh_call:{tag}"] = traceback.format_exc()[-2000:]

    saves = res.setdefault("saves", {})

    def save(tag, path, fmt):
        art = arts.get(tag)
        if art is None:
            saves[path] = {"ok": False, "why": f"no artifact for {tag}"}
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            t0 = time.time()
            ret = art.save(path=path, format=fmt)
            saves[path] = {"ok": True, "tag": tag, "format": fmt, "seconds": round(time.time() - t0, 3),
                           "returned": repr(ret)[:200], "env_TRITON_CACHE_DIR_at_save": os.environ.get("TRITON_CACHE_DIR")}
        except Exception:
            saves[path] = {"ok": False, "tag": tag, "format": fmt, "error": traceback.format_exc()[-3000:]}

    std0, std1 = f"{BACKBONE_STD}/{art_name(0)}", f"{BACKBONE_STD}/{art_name(1)}"
    unp0 = f"{BACKBONE_UNP}/{art_name(0)}"
    saot0 = f"{BACKBONE_SAOT}/{art_name(0)}"
    save("g0", std0, "binary")
    save("g1", std1, "binary")
    save("g0", f"{WORK}/scratch/g0_saved_twice.bin", "binary")
    save("g0_repeat", f"{WORK}/scratch/g0_recompiled.bin", "binary")
    save("g0", unp0, "unpacked")
    if has_aot:
        save("g0_aotmode", saot0, "binary")
    code = "\n\n".join(f"# {g}\n{graphs[g]['code']}" for g in sorted(graphs))
    side = res.setdefault("sidecars", {})
    side[BACKBONE_STD] = write_vllm_sidecars(BACKBONE_STD, "binary", [(0, std0), (1, std1)], code)
    side[BACKBONE_UNP] = write_vllm_sidecars(BACKBONE_UNP, "unpacked", [(0, unp0)], code)
    if has_aot and os.path.exists(saot0):
        side[BACKBONE_SAOT] = write_vllm_sidecars(BACKBONE_SAOT, "aotmode", [(0, saot0)], code)
    res["counters"] = counters_dict()
    return res


def _cache_info(art):
    a = getattr(art, "_artifacts", None)
    if not a:
        return None
    try:
        b, info = a
        return {"bytes": len(b), "artifacts": {k: list(v) for k, v in getattr(info, "artifacts", {}).items()}}
    except Exception as e:
        return repr(e)


def phase_compile_aot(spec):
    import inspect
    import torch
    res = {"versions": versions()}
    try:
        res["load_compiled_function_sig"] = str(inspect.signature(torch.compiler.load_compiled_function))
    except Exception as e:
        res["load_compiled_function_sig"] = repr(e)
    # PyTorch 2.11 only attaches .aot_compile to torch.compile's wrapper when this is on
    res["enable_aot_compile_default"] = repr(getattr(torch._dynamo.config, "enable_aot_compile", "<absent>"))
    torch._dynamo.config.enable_aot_compile = True
    tensors = {a: make_tensor(a, EXAMPLE_S) for a in ARGS["aot"]}
    res["attempts"] = []
    for dynamic in (True, False):
        att = {"dynamic_dim0": dynamic}
        res["attempts"].append(att)
        try:
            torch._dynamo.reset()
            x = tensors["x"].clone()
            if dynamic:
                torch._dynamo.maybe_mark_dynamic(x, 0)
            compiled = torch.compile(aot_fn, fullgraph=True)
            att["torch_compile_result_type"] = type(compiled).__name__
            att["torch_compile_result_dir"] = [n for n in dir(compiled) if not n.startswith("__")]
            print("dir(torch.compile(fn)):", att["torch_compile_result_dir"], flush=True)
            t0 = time.time()
            example = ((x, tensors["w_norm"], tensors["w_up"]), {})
            with torch.no_grad():
                if hasattr(compiled, "aot_compile"):
                    att["api"] = "torch.compile(fn, fullgraph=True).aot_compile((args, kwargs))"
                    aot = compiled.aot_compile(example)
                else:
                    from torch._dynamo.aot_compile import aot_compile_fullgraph
                    from torch._dynamo.hooks import Hooks
                    att["api"] = "torch._dynamo.aot_compile.aot_compile_fullgraph (fallback)"
                    aot = aot_compile_fullgraph(aot_fn, example, hooks=Hooks(),
                                                backend=torch._TorchCompileInductorWrapper("default", None, False))
            att["aot_compile_seconds"] = round(time.time() - t0, 2)
            att["aot_type"] = f"{type(aot).__module__}.{type(aot).__qualname__}"
            att["aot_dir"] = [n for n in dir(aot) if not n.startswith("__")]
            print("dir(aot_compile result):", att["aot_dir"], flush=True)
            att["save_sig"] = str(inspect.signature(aot.save_compiled_function))
            try:
                cf = aot._artifacts.compiled_fn
                att["compiled_fn_type"] = f"{type(cf).__module__}.{type(cf).__qualname__}"
                att["backend_name"] = getattr(aot._artifacts, "backend_name", None)
            except Exception:
                pass
            os.makedirs(os.path.dirname(AOT_MODEL), exist_ok=True)
            ret = aot.save_compiled_function(AOT_MODEL)
            att["save_returned_type"] = f"{type(ret).__module__}.{type(ret).__qualname__}"
            att["save_returned_fields"] = [n for n in dir(ret) if not n.startswith("_")]
            att["save_returned_external_data"] = repr(getattr(ret, "external_data", None))[:300]
            att["saved"] = os.path.exists(AOT_MODEL)
            runs = []
            for s in RUN_SIZES if dynamic else (EXAMPLE_S,):
                t = {a: make_tensor(a, s) for a in ARGS["aot"]}
                with torch.no_grad():
                    try:
                        runs.append({"s": s, **compare(aot(t["x"], t["w_norm"], t["w_up"]), aot_fn(**t))})
                    except Exception as e:
                        runs.append({"s": s, "error": repr(e)[:500]})
            att["fresh_runs"] = runs
            res["dynamic"] = dynamic
            break
        except Exception:
            att["error"] = traceback.format_exc()[-4000:]
            print(att["error"], flush=True)
    res["counters"] = counters_dict()
    return res


def phase_load(spec):
    import inspect
    import torch
    import torch._inductor
    res = {"spec": spec}
    roots = {"TRITON_CACHE_DIR": os.environ.get("TRITON_CACHE_DIR"),
             "TORCHINDUCTOR_CACHE_DIR": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
             "TRITON_HOME": os.environ.get("TRITON_HOME")}
    if spec["format"] == "unpacked":
        roots["artifact_dir"] = spec["path"]
    res["roots"] = roots
    before = {(k["root"], k["rel"]) for k in scan_kernels(roots)}
    tree_before = tree(spec["path"]) if spec["format"] == "unpacked" else None
    stats = {"calls": 0, "calls_writing_files": 0}
    install_triton_probe(stats, roots)
    t0 = time.time()
    try:
        if spec["kind"] == "standalone":
            import importlib
            sc_mod = importlib.import_module("torch._inductor.standalone_compile")
            CA = getattr(torch._inductor, "CompiledArtifact", None) or sc_mod.CompiledArtifact
            loaded = CA.load(path=spec["path"], format=spec["format"])
            res["loaded_type"] = f"{type(loaded).__module__}.{type(loaded).__qualname__}"
        else:
            torch._dynamo.config.enable_aot_compile = True
            lcf = torch.compiler.load_compiled_function
            params = inspect.signature(lcf).parameters
            with open(spec["path"], "rb") as fh:
                if "f_globals" in params:
                    loaded = lcf(fh, f_globals=globals())
                else:
                    loaded = lcf(fh)
            res["loaded_type"] = f"{type(loaded).__module__}.{type(loaded).__qualname__}"
        res["load_ok"] = True
    except Exception:
        res["load_ok"] = False
        res["load_error"] = traceback.format_exc()[-4000:]
        loaded = None
    res["load_seconds"] = round(time.time() - t0, 3)
    new_after_load = [k for k in scan_kernels(roots) if (k["root"], k["rel"]) not in before]
    res["counters_after_load"] = counters_dict()
    res["triton_compile_after_load"] = dict(stats)
    runs = []
    if loaded is not None:
        g = spec["graph"]
        for s in RUN_SIZES:
            try:
                with torch.no_grad():
                    if spec["kind"] == "standalone":
                        call, tensors = build_call(g, spec["placeholders"], s)
                        t1 = time.time()
                        out = loaded(*call)
                    else:
                        tensors = {a: make_tensor(a, s) for a in ARGS["aot"]}
                        t1 = time.time()
                        out = loaded(tensors["x"], tensors["w_norm"], tensors["w_up"])
                    torch.cuda.synchronize()
                    dt = time.time() - t1
                    runs.append({"s": s, "seconds": round(dt, 3), **compare(out, FNS[g](**tensors))})
            except Exception:
                runs.append({"s": s, "error": traceback.format_exc()[-2000:]})
    res["runs"] = runs
    all_new = [k for k in scan_kernels(roots) if (k["root"], k["rel"]) not in before]
    res["kernels_after_load"] = kernel_summary(new_after_load)
    res["kernels_after_call"] = kernel_summary(all_new)
    res["kernels"] = all_new
    res["counters"] = counters_dict()
    res["triton_compile"] = dict(stats)
    ind = res["counters"].get("inductor", {})
    aa = res["counters"].get("aot_autograd", {})
    res["recompiled"] = bool(stats["calls_writing_files"] or ind.get("fxgraph_cache_miss", 0)
                             or aa.get("autograd_cache_miss", 0)
                             or len(all_new) > len(new_after_load))
    res["fresh_cache_trees"] = {k: tree(v, limit=200) for k, v in roots.items() if k != "artifact_dir"}
    if tree_before is not None:
        after = tree(spec["path"])
        b = {e["rel"] for e in tree_before}
        res["artifact_dir_files_added_by_load"] = [e for e in after if e["rel"] not in b]
    res["strings_in_artifact"] = strings_found(
        spec["path"], sorted({k["name"] for k in all_new} | {k["hash"] for k in all_new}))
    return res


PHASES = {"compile_std": phase_compile_std, "compile_aot": phase_compile_aot, "load": phase_load}


def phase_main(name, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    out_path = spec["result_path"]
    try:
        res = PHASES[spec["phase"]](spec)
        res["phase_ok"] = True
    except Exception:
        res = {"phase_ok": False, "error": traceback.format_exc()[-4000:]}
        print(res["error"], flush=True)
    res["env"] = {k: os.environ.get(k) for k in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "TRITON_HOME",
                                                 "TORCHINDUCTOR_COMPILE_THREADS")}
    with open(out_path, "w") as f:
        json.dump(res, f, indent=1, default=repr)


# ----------------------------------------------------------------------------------------
# Orchestrator
# ----------------------------------------------------------------------------------------

def run_phase(name, spec, timeout, triton_env=True):
    cache = f"{WORK}/caches/{name}"
    for sub in ("inductor", "triton", "triton_home"):
        os.makedirs(f"{cache}/{sub}", exist_ok=True)
    env = dict(os.environ)
    env.update({"PYTHONUNBUFFERED": "1", "TORCHINDUCTOR_CACHE_DIR": f"{cache}/inductor",
                "TRITON_CACHE_DIR": f"{cache}/triton", "TRITON_HOME": f"{cache}/triton_home",
                "TORCHINDUCTOR_COMPILE_THREADS": "1"})
    if not triton_env:
        env.pop("TRITON_CACHE_DIR")
    spec = dict(spec, result_path=f"{WORK}/results/{name}.json")
    os.makedirs(f"{WORK}/results", exist_ok=True)
    os.makedirs(f"{WORK}/logs", exist_ok=True)
    sp = f"{WORK}/results/{name}.spec.json"
    with open(sp, "w") as f:
        json.dump(spec, f)
    log = f"{WORK}/logs/{name}.log"
    t0 = time.time()
    rc = None
    with open(log, "wb") as lf:
        try:
            rc = subprocess.run([sys.executable, SCRIPT, "phase", name, sp], env=env, stdout=lf,
                                stderr=subprocess.STDOUT, timeout=timeout, cwd=os.path.dirname(SCRIPT)).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = round(time.time() - t0, 1)
    result = None
    if os.path.exists(spec["result_path"]):
        with open(spec["result_path"]) as f:
            result = json.load(f)
    with open(log, "rb") as f:
        tail = f.read()[-3000:].decode("utf-8", "replace")
    print(f"[{name}] rc={rc} wall={wall}s ok={bool(result and result.get('phase_ok'))}", flush=True)
    return {"name": name, "rc": rc, "wall_s": wall, "result": result,
            "log_tail": tail if (rc != 0 or not result) else None}


def parallel(jobs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        futs = [ex.submit(run_phase, *j) for j in jobs]
        return [f.result() for f in futs]


def rel(p):
    return os.path.relpath(p, WORK)


def torch_src_tarball(dst):
    spec = importlib.util.find_spec("torch")
    tdir = list(spec.submodule_search_locations)[0]
    base = os.path.dirname(tdir)
    wanted = ["torch/_inductor/standalone_compile.py", "torch/utils/_appending_byte_serializer.py",
              "torch/compiler/_cache.py", "torch/_inductor/triton_bundler.py", "torch/_dynamo/aot_compile.py",
              "torch/_dynamo/aot_compile_types.py", "torch/_functorch/_aot_autograd/autograd_cache.py",
              # extras that the readers of these formats lean on
              "torch/compiler/__init__.py", "torch/compiler/_runtime_cache.py", "torch/_dynamo/package.py",
              "torch/_inductor/output_code.py", "torch/_inductor/runtime/cache_dir_utils.py",
              "torch/_inductor/runtime/runtime_utils.py", "torch/_inductor/runtime/static_cuda_launcher.py",
              "torch/_inductor/__init__.py", "torch/_inductor/codecache.py", "torch/_dynamo/eval_frame.py",
              "torch/_dynamo/config.py"]
    defining = []
    try:
        g = subprocess.run(["grep", "-rl", "--include=*.py", "def save_compiled_function", tdir],
                           capture_output=True, text=True, timeout=60)
        defining = sorted(os.path.relpath(p, base) for p in g.stdout.split())
    except Exception as e:
        defining = [f"<grep failed: {e!r}>"]
    tspec = importlib.util.find_spec("triton")
    extra_triton = []
    if tspec:
        tb = os.path.dirname(list(tspec.submodule_search_locations)[0])
        for p in ("triton/compiler/compiler.py", "triton/runtime/cache.py"):
            if os.path.exists(os.path.join(tb, p)):
                extra_triton.append((tb, p))
    listing = []
    with tarfile.open(dst, "w:gz") as tf:
        for p in wanted + [d for d in defining if d not in wanted and not d.startswith("<")]:
            full = os.path.join(base, p)
            if os.path.exists(full):
                tf.add(full, arcname=p)
                listing.append({"path": p, "size": os.path.getsize(full)})
            else:
                listing.append({"path": p, "missing": True})
        for tb, p in extra_triton:
            tf.add(os.path.join(tb, p), arcname=p)
            listing.append({"path": p, "size": os.path.getsize(os.path.join(tb, p))})
    return {"torch_dir": tdir, "files": listing, "defining_save_compiled_function": defining}


def main():
    t_start = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    R = {"schema": "mcm.vllm-artifacts/1", "made_by": "gpu/make_artifacts.py", "work_root": WORK,
         "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "phases": {}}
    out_json = os.path.join(OUT, "vllm-artifacts-h200.json")

    def flush():
        R["elapsed_s"] = round(time.time() - t_start, 1)
        with open(out_json, "w") as f:
            json.dump(R, f, indent=1, default=repr)

    try:
        # Stage 1: compile (two independent fresh processes, in parallel)
        for r in parallel([("compile_std", {"phase": "compile_std"}, 210),
                           ("compile_aot", {"phase": "compile_aot"}, 210)]):
            R["phases"][r["name"]] = r
        flush()
        cs = (R["phases"]["compile_std"].get("result") or {})
        ca = (R["phases"]["compile_aot"].get("result") or {})
        R["versions"] = cs.get("versions") or ca.get("versions")
        R["standalone_compile_signature"] = {"public": cs.get("signature_public"), "impl": cs.get("signature_impl")}
        placeholders = {g: v["placeholders"] for g, v in (cs.get("graphs") or {}).items()}

        # Tarball of the artifacts as saved (before any load touches them)
        tops = [t for t in (TOP_STD, TOP_UNP, TOP_AOT, TOP_SAOT) if os.path.exists(f"{WORK}/{t}")]
        tar_path = os.path.join(OUT, "h200-vllm-artifacts.tar.gz")
        with tarfile.open(tar_path, "w:gz") as tf:
            for t in tops:
                tf.add(f"{WORK}/{t}", arcname=t)
        with tarfile.open(tar_path) as tf:
            R["tarball"] = {"path": "h200-vllm-artifacts.tar.gz", "size": os.path.getsize(tar_path),
                            "members": [{"name": m.name, "size": m.size, "type": "dir" if m.isdir() else "file"}
                                        for m in tf.getmembers()]}
        # a pristine copy of the unpacked folder for the load test without TRITON_CACHE_DIR
        unp0 = f"{BACKBONE_UNP}/{art_name(0)}"
        unp0_copy = unp0.replace(f"{WORK}/{TOP_UNP}/", f"{WORK}/copy-{TOP_UNP}/")
        if os.path.isdir(unp0):
            shutil.copytree(unp0, unp0_copy)

        # Ground truth without torch: sizes, hashes, record-level decode
        std0, std1 = f"{BACKBONE_STD}/{art_name(0)}", f"{BACKBONE_STD}/{art_name(1)}"
        saot0 = f"{BACKBONE_SAOT}/{art_name(0)}"
        arts = {}
        for p, fmt, kind in ((std0, "binary", "standalone"), (std1, "binary", "standalone"),
                             (unp0, "unpacked", "standalone"), (saot0, "binary", "standalone-aotmode"),
                             (AOT_MODEL, "aot_compiled_function", "aot")):
            if not os.path.exists(p):
                arts[rel(p)] = {"exists": False, "format": fmt, "kind": kind}
                continue
            a = {"exists": True, "format": fmt, "kind": kind, "abs_path_at_save": p,
                 "size": path_size(p), "sha256": sha256_path(p)}
            if fmt == "binary":
                a["decode"] = decode_standalone_binary(p)
            elif fmt == "unpacked":
                a["tree"] = tree(p)
            else:
                with open(p, "rb") as f:
                    data = f.read()
                a["classify"] = classify(data)
                a["pickle"] = pickle_summary(data) if a["classify"]["is_pickle"] else None
            arts[rel(p)] = a
        R["artifacts"] = arts
        ident = {}
        pairs = [(std0, std1), (std0, f"{WORK}/scratch/g0_saved_twice.bin"), (std0, f"{WORK}/scratch/g0_recompiled.bin")]
        for a, b in pairs:
            if os.path.exists(a) and os.path.exists(b):
                ident[f"{rel(a)} == {rel(b)}"] = sha256_path(a) == sha256_path(b)
        R["byte_identical"] = ident
        R["byte_identical_note"] = ("subgraph_0 vs subgraph_1 are different graphs; g0_saved_twice is the same "
                                    "CompiledArtifact saved a second time; g0_recompiled is a second "
                                    "standalone_compile of the same graph in the same process (cache hit)")
        flush()

        # Stage 2: loads, each in a fresh process with empty caches, in parallel
        remaining = 440 - (time.time() - t_start)
        to = max(45, min(200, int(remaining - 30)))
        jobs = []
        if os.path.exists(std0) and "g0" in placeholders:
            jobs.append(("load_std0", {"phase": "load", "kind": "standalone", "path": std0, "format": "binary",
                                       "graph": "g0", "placeholders": placeholders["g0"]}, to))
        if os.path.exists(std1) and "g1" in placeholders:
            jobs.append(("load_std1", {"phase": "load", "kind": "standalone", "path": std1, "format": "binary",
                                       "graph": "g1", "placeholders": placeholders["g1"]}, to))
        if os.path.isdir(unp0) and "g0" in placeholders:
            jobs.append(("load_unp0", {"phase": "load", "kind": "standalone", "path": unp0, "format": "unpacked",
                                       "graph": "g0", "placeholders": placeholders["g0"]}, to))
            jobs.append(("load_unp0_no_TRITON_CACHE_DIR",
                         {"phase": "load", "kind": "standalone", "path": unp0_copy, "format": "unpacked",
                          "graph": "g0", "placeholders": placeholders["g0"]}, to, False))
        if os.path.exists(saot0) and "g0" in placeholders:
            jobs.append(("load_saot0", {"phase": "load", "kind": "standalone", "path": saot0, "format": "binary",
                                        "graph": "g0", "placeholders": placeholders["g0"]}, to))
        if os.path.exists(AOT_MODEL):
            jobs.append(("load_aot", {"phase": "load", "kind": "aot", "path": AOT_MODEL, "format": "aot",
                                      "graph": "aot"}, to))
        if jobs:
            for r in parallel(jobs):
                R["phases"][r["name"]] = r
        flush()

        # Fold the load ground truth into the per-artifact entries
        for name, ph in R["phases"].items():
            if not name.startswith("load_"):
                continue
            res = ph.get("result") or {}
            spec = res.get("spec") or {}
            key = rel(spec.get("path", "")).replace(f"copy-{TOP_UNP}/", f"{TOP_UNP}/") if spec else None
            entry = {"phase": name, "rc": ph["rc"], "load_ok": res.get("load_ok"), "load_error": res.get("load_error"),
                     "loaded_type": res.get("loaded_type"), "env": res.get("env"),
                     "kernels_restored_by_load": (res.get("kernels_after_load") or {}).get("count"),
                     "kernels_after_load": res.get("kernels_after_load"), "kernels_after_call": res.get("kernels_after_call"),
                     "runs": res.get("runs"), "recompiled": res.get("recompiled"), "triton_compile": res.get("triton_compile"),
                     "counters": res.get("counters"), "counters_after_load": res.get("counters_after_load"),
                     "strings_in_artifact": res.get("strings_in_artifact"),
                     "artifact_dir_files_added_by_load": res.get("artifact_dir_files_added_by_load"),
                     "log_tail": ph.get("log_tail")}
            if key in R["artifacts"]:
                R["artifacts"][key].setdefault("loads", []).append(entry)
        # kernels the compile phases produced, for comparison
        for name in ("compile_std", "compile_aot"):
            c = f"{WORK}/caches/{name}"
            ks = scan_kernels({"TRITON_CACHE_DIR": f"{c}/triton", "TORCHINDUCTOR_CACHE_DIR": f"{c}/inductor",
                               "TRITON_HOME": f"{c}/triton_home"})
            R["phases"][name]["kernels_compiled"] = kernel_summary(ks)
            R["phases"][name]["kernels_compiled_detail"] = [{k: v for k, v in x.items() if k != "keys"} for x in ks]
    except Exception:
        R["main_error"] = traceback.format_exc()[-4000:]
        print(R["main_error"], flush=True)
    try:
        R["torch_src"] = torch_src_tarball(os.path.join(OUT, "torch-src.tar.gz"))
    except Exception:
        R["torch_src"] = {"error": traceback.format_exc()[-2000:]}
    # logs
    with open(os.path.join(OUT, "run-logs.txt"), "w") as lf:
        for fn in sorted(os.listdir(f"{WORK}/logs")):
            with open(f"{WORK}/logs/{fn}", "rb") as f:
                data = f.read()
            lf.write(f"===== {fn} ({len(data)} bytes, last 40000) =====\n")
            lf.write(data[-40000:].decode("utf-8", "replace") + "\n")
    flush()
    try:
        # short summary for the console
        print("versions:", json.dumps(R.get("versions")))
        print("standalone_compile:", json.dumps(R["standalone_compile_signature"]))
        print("byte_identical:", json.dumps(ident))
        for k, a in R["artifacts"].items():
            print(k, a.get("format"), a.get("size"))
            for ld in a.get("loads", []):
                print("   ", ld["phase"], "load_ok", ld["load_ok"], "restored", ld["kernels_restored_by_load"],
                      "after_call", (ld["kernels_after_call"] or {}).get("count"), "recompiled", ld["recompiled"],
                      "runs_ok", [r.get("ok") for r in (ld["runs"] or [])])
        print("tarball", R["tarball"]["size"], "elapsed", R["elapsed_s"])

    except Exception:
        traceback.print_exc()

if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "phase":
        phase_main(sys.argv[2], sys.argv[3])
    else:
        main()
