from ..._standin import FACTS


class NvidiaTool:
    def __init__(self, path):
        self.path = path


def get_ptxas(arch):
    # Triton 3.6: ptxas-blackwell from sm100 on, else ptxas
    return NvidiaTool("/standin/bin/ptxas-blackwell" if arch >= 100 else "/standin/bin/ptxas")


def get_ptxas_version(arch=80):
    # what `ptxas --version` prints; the CUDA backend hashes this text
    return "ptxas: NVIDIA (R) Ptx optimizing assembler\n" + FACTS["triton"]["ptxas"] + "\n"
