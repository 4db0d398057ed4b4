from .._standin import FACTS


def triton_key():
    return FACTS["triton"]["key"]


class _Backend:
    def __init__(self, target):
        self.target = target

    def hash(self):
        # as Triton 3.6's CUDA backend: `ptxas --version` of the arch's ptxas, then the arch
        from ..backends.nvidia.compiler import get_ptxas_version

        return f"{get_ptxas_version(self.target.arch)}-{self.target.arch}"


def make_backend(target):
    return _Backend(target)
