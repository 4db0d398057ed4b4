"""Stands in for Triton (it cannot be installed here). Its version is MCM_STUB_TRITON_VERSION when set,
so that a test can tell the version it chose from one mcm made up."""
import os

__version__ = os.environ.get("MCM_STUB_TRITON_VERSION", "0.0.0+stub")
