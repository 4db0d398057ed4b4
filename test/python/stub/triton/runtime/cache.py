"""A minimal stand-in for triton.runtime.cache (Triton cannot be installed here):
the FileCacheManager behaviour the tracker builds on, as in Triton 3.6."""
import json
import os


class FileCacheManager:
    def __init__(self, key, override=False, dump=False):
        self.key = key
        base = os.environ.get("TRITON_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".triton", "cache")
        self.cache_dir = os.path.join(base, key)
        os.makedirs(self.cache_dir, exist_ok=True)

    def _make_path(self, filename):
        return os.path.join(self.cache_dir, filename)

    def has_file(self, filename):
        return os.path.exists(self._make_path(filename))

    def get_file(self, filename):
        return self._make_path(filename) if self.has_file(filename) else None

    def get_group(self, filename):
        grp_filename = f"__grp__{filename}"
        if not self.has_file(grp_filename):
            return None
        with open(self._make_path(grp_filename)) as f:
            grp_data = json.load(f)
        child_paths = grp_data.get("child_paths", None)
        if child_paths is None:
            return None
        result = {}
        for c, p in child_paths.items():
            if os.path.exists(p):
                result[c] = p
        return result

    def put(self, data, filename, binary=True):
        # as Triton does: write into a private temp folder, then os.replace, so that
        # a concurrent reader never sees a half-written file
        mode = "wb" if binary else "w"
        path = self._make_path(filename)
        temp_dir = os.path.join(self.cache_dir, f"tmp.pid_{os.getpid()}_{os.urandom(8).hex()}")
        os.makedirs(temp_dir, exist_ok=True)
        temp_path = os.path.join(temp_dir, filename)
        with open(temp_path, mode) as f:
            f.write(data)
        os.replace(temp_path, path)
        os.removedirs(temp_dir)  # as Triton: also the folders above it that are left empty
        return path

    def put_group(self, filename, group):
        grp_filename = f"__grp__{filename}"
        return self.put(json.dumps({"child_paths": group}), grp_filename, binary=False)
