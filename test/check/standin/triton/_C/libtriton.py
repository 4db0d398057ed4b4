import os

from .._standin import FACTS


def get_cache_invalidating_env_vars():
    # Triton's C++ keeps a fixed list and reports those that are set
    return {k: os.environ[k] for k in FACTS["triton"].get("hashed_env_names", []) if k in os.environ}
