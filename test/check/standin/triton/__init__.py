from ._standin import FACTS

__version__ = FACTS["triton"]["version"]
