import os
import stat
import tempfile

from ..._standin import FACTS


class _Tool:
    def __init__(self, path):
        self.path = path


def get_ptxas():
    # a ptxas that answers --version as the real one does
    d = tempfile.mkdtemp(prefix="standin-ptxas-")
    path = os.path.join(d, "ptxas")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho 'ptxas: NVIDIA (R) Ptx optimizing assembler'\n")
        f.write(f"echo '{FACTS['triton']['ptxas']}'\n")
    os.chmod(path, stat.S_IRWXU)
    return _Tool(path)
