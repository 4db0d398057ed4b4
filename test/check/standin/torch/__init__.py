from . import fx, nn, version
from ._standin import FACTS

__version__ = FACTS["torch"]["version"]
