import base64
import hashlib

from .._standin import FACTS


def torch_key():
    return bytes.fromhex(FACTS["torch"]["torch_key"])


class CacheBase:
    @staticmethod
    def get_system():
        t = FACTS["torch"]
        system = {"device": {"name": t["device"]}, "version": {"triton": FACTS["triton"]["key"], "cuda": t["cuda"]}}
        system["hash"] = hashlib.sha256(repr(system).encode()).hexdigest()
        return system


class FxGraphCachePickler:
    def __init__(self, gm, has_user_defined_triton_kernels=False):
        self.gm = gm

    def get_hash(self, name, obj):
        text = obj.hex() if isinstance(obj, bytes) else str(obj)
        known = FACTS.get("pickler_hashes", {}).get(f"{name}\u0000{text}")
        if known:
            return known
        return base64.b32encode(hashlib.sha256(f"{name}:{text}".encode()).digest())[:51].decode().lower()

    def debug_lines(self, inp):
        lines = []
        for attr, obj in vars(inp).items():
            if isinstance(obj, list):
                for i, x in enumerate(obj):
                    lines.append(f"[{self.get_hash(f'{attr}[{i}]', x)}] {attr}[{i}]: {x}")
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    lines.append(f"[{self.get_hash(f'{attr}[{k}]', v)}] {attr}[{k}]: {v}")
            else:
                lines.append(f"[{self.get_hash(attr, obj)}] {attr}: {obj.hex() if isinstance(obj, bytes) else obj}")
        return lines
