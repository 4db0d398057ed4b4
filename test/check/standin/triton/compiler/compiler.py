import hashlib

from .._standin import FACTS


def triton_key():
    return FACTS["triton"]["key"]


class _Backend:
    def __init__(self, target):
        self.target = target

    def hash(self):
        # the CUDA backend hashes ptxas's version and the arch
        return hashlib.sha256(f"{FACTS['triton']['ptxas']}-{self.target.arch}".encode()).hexdigest()


def make_backend(target):
    return _Backend(target)
