"""mcm hit tracker: a Triton cache manager that records every kernel lookup.

Enable it with no code change:

    export PYTHONPATH=/path/to/this/folder${PYTHONPATH:+:$PYTHONPATH}
    export TRITON_CACHE_MANAGER=mcm_tracker:TrackingCacheManager

It behaves exactly like Triton's own FileCacheManager and also appends one JSON
line per group lookup (cache key, kernel name, hit or miss, cache dir, time,
pid) to a log of its own process under `<cache dir>/.mcm/hits/` (or
`$MCM_HITS_DIR`). Hits are buffered and written every second and at exit;
a miss (a compile follows) is written at once; always with O_APPEND, no locks. `mcm index`, `list`, `stats` and `prune` read
the logs. Recording never breaks or slows the program: a failure to record is
reported once on stderr and recording stops; the program goes on.

Standard library only; Python >= 3.9.
"""

import atexit
import json
import os
import socket
import sys
import threading
import time

from triton.runtime.cache import FileCacheManager

__all__ = ["TrackingCacheManager"]

FLUSH_SECONDS = 1.0


class _Recorder:
    """One per process: buffers events per log file and appends them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending = {}  # log path -> [lines]
        self._broken = False
        self._pid = os.getpid()
        self._name = "%s-%d-%d.jsonl" % (socket.gethostname().replace("/", "_"), self._pid, int(time.time() * 1000))
        self._thread = None
        atexit.register(self.flush)

    def _log_path(self, base_dir):
        hits_dir = os.environ.get("MCM_HITS_DIR") or os.path.join(base_dir, ".mcm", "hits")
        return os.path.join(hits_dir, self._name)

    def record(self, base_dir, key, name, hit):
        if self._broken:
            return
        try:
            if os.getpid() != self._pid:  # forked: a log of our own
                self.__init__()
            line = json.dumps(
                {"key": key, "name": name, "hit": hit, "dir": base_dir, "t": time.time(), "pid": self._pid},
                separators=(",", ":"),
            )
            with self._lock:
                self._pending.setdefault(self._log_path(base_dir), []).append(line)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="mcm-tracker", daemon=True)
                    self._thread.start()
            if not hit:
                # a miss is followed by a compile that dwarfs one write, and compile workers
                # (Inductor's pool) may end with os._exit, which skips atexit: write it now
                self.flush()
        except Exception as e:  # never the program's problem
            self._fail(e)

    def _run(self):
        while not self._broken:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self):
        with self._lock:
            pending, self._pending = self._pending, {}
        for path, lines in pending.items():
            if self._broken:
                return
            try:
                hits = os.path.dirname(path)
                # in a shared cache a peer may plant .mcm or hits as a link: never log through it
                planted = not os.environ.get("MCM_HITS_DIR") and os.path.islink(os.path.dirname(hits))
                if not planted:
                    os.makedirs(hits, exist_ok=True)
                if planted or (not os.environ.get("MCM_HITS_DIR") and os.path.islink(hits)):
                    raise OSError("%s is a link; not followed" % hits)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
                try:
                    data = ("\n".join(lines) + "\n").encode()
                    # one write per flush: with O_APPEND, lines of concurrent processes never interleave
                    written = os.write(fd, data)
                    if written != len(data):
                        raise OSError("short write to %s (disk full?)" % path)
                finally:
                    os.close(fd)
            except Exception as e:
                self._fail(e)

    def _fail(self, e):
        if not self._broken:
            self._broken = True
            try:
                sys.stderr.write("mcm_tracker: recording stopped, the program goes on: %s\n" % (e,))
            except Exception:
                pass


_recorder = _Recorder()


class TrackingCacheManager(FileCacheManager):
    """Triton's FileCacheManager, recording each group lookup for mcm."""

    def get_group(self, filename):
        group = super().get_group(filename)
        try:
            name = filename[:-5] if filename.endswith(".json") else filename
            # Triton's own test: a hit is a group that still holds the metadata file
            hit = bool(group) and filename in group
            _recorder.record(os.path.dirname(self.cache_dir), self.key, name, hit)
        except Exception as e:
            _recorder._fail(e)
        return group
