"""Tests of python/mcm_tracker.py against a stand-in for triton.runtime.cache
(test/python/stub: Triton cannot be installed here). Run by `npm test`."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PATH = os.pathsep.join([os.path.join(ROOT, "python"), os.path.join(HERE, "stub")])

# a workload: N lookups of kernels in TRITON_CACHE_DIR, half of them present
WORKLOAD = textwrap.dedent("""
    import os, sys
    from triton.runtime.cache import FileCacheManager
    from mcm_tracker import TrackingCacheManager
    n = int(sys.argv[1])
    for i in range(n):
        key = "KEY%d" % (i % 10)
        if i % 10 < 5 and not os.path.exists(os.path.join(os.environ["TRITON_CACHE_DIR"], key, "__grp__k.json")):
            m = FileCacheManager(key)
            p = m.put(b"{}", "k.json")
            m.put_group("k.json", {"k.json": p})
        g = TrackingCacheManager(key).get_group("k.json")
        assert (g is not None) == (i % 10 < 5), (i, g)
    print("done", n)
""")


def run(code_args, env_extra, **kw):
    env = dict(os.environ, PYTHONPATH=PATH, **env_extra)
    return subprocess.run([sys.executable, "-c", WORKLOAD, *code_args], env=env, capture_output=True, text=True, **kw)


def events(hits_dir):
    out = []
    for f in sorted(glob.glob(os.path.join(hits_dir, "*.jsonl"))):
        with open(f) as fh:
            out += [json.loads(line) for line in fh]
    return out


class TrackerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.cache = os.path.join(self.tmp.name, "cache")

    def tearDown(self):
        self.tmp.cleanup()

    def test_records_hits_and_misses_with_key_name_dir_time_pid(self):
        r = run(["20"], {"TRITON_CACHE_DIR": self.cache})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        ev = events(os.path.join(self.cache, ".mcm", "hits"))
        self.assertEqual(len(ev), 20)
        self.assertEqual(sum(e["hit"] for e in ev), 10)
        first = ev[0]
        self.assertEqual(set(first), {"key", "name", "hit", "dir", "t", "pid"})
        self.assertEqual(first["name"], "k")
        self.assertEqual(first["dir"], self.cache)
        self.assertTrue(first["key"].startswith("KEY"))
        self.assertEqual(len({e["pid"] for e in ev}), 1)

    def test_a_miss_is_written_before_an_abrupt_exit(self):
        # Inductor's compile workers can end with os._exit, which skips atexit
        code = WORKLOAD.replace('print("done", n)', 'os._exit(0)')
        env = dict(os.environ, PYTHONPATH=PATH, TRITON_CACHE_DIR=self.cache)
        r = subprocess.run([sys.executable, "-c", code, "10"], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        ev = events(os.path.join(self.cache, ".mcm", "hits"))
        self.assertEqual(sum(not e["hit"] for e in ev), 5, "every miss is on disk")

    def test_behaves_like_file_cache_manager(self):
        env = dict(os.environ, PYTHONPATH=PATH, TRITON_CACHE_DIR=self.cache)
        code = textwrap.dedent("""
            from triton.runtime.cache import FileCacheManager
            from mcm_tracker import TrackingCacheManager
            a, b = FileCacheManager("K"), TrackingCacheManager("K")
            p = b.put(b"x", "k.cubin"); q = b.put(b"{}", "k.json")
            b.put_group("k.json", {"k.cubin": p, "k.json": q})
            assert a.get_group("k.json") == b.get_group("k.json") == {"k.cubin": p, "k.json": q}
            assert b.get_file("k.cubin") == a.get_file("k.cubin") == p
            assert b.get_group("other.json") is None
            print("same")
        """)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        self.assertEqual(r.stdout.strip(), "same", r.stderr)

    def test_concurrent_processes_append_without_losing_or_tearing_lines(self):
        hits = os.path.join(self.tmp.name, "hits")
        env = {"TRITON_CACHE_DIR": self.cache, "MCM_HITS_DIR": hits}
        procs = [subprocess.Popen([sys.executable, "-c", WORKLOAD, "2000"], env=dict(os.environ, PYTHONPATH=PATH, **env),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        ev = events(hits)
        self.assertEqual(len(ev), 8000)
        self.assertEqual(len({e["pid"] for e in ev}), 4)
        self.assertEqual(len(glob.glob(os.path.join(hits, "*.jsonl"))), 4, "one log per process")

    def test_an_unwritable_hits_dir_warns_once_and_the_program_goes_on(self):
        blocker = os.path.join(self.tmp.name, "a-file")
        open(blocker, "w").close()
        r = run(["50"], {"TRITON_CACHE_DIR": self.cache, "MCM_HITS_DIR": os.path.join(blocker, "hits")})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done 50", r.stdout)
        self.assertEqual(r.stderr.count("mcm_tracker: recording stopped"), 1, r.stderr)

    def test_a_planted_mcm_link_is_not_written_through(self):
        # a peer of a shared cache points .mcm elsewhere: the program goes on, nothing is logged there
        outside = os.path.join(self.tmp.name, "outside")
        os.makedirs(outside)
        os.makedirs(self.cache)
        os.symlink(outside, os.path.join(self.cache, ".mcm"))
        r = run(["20"], {"TRITON_CACHE_DIR": self.cache})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done 20", r.stdout)
        self.assertEqual(os.listdir(outside), [])

    def test_a_read_only_hits_dir(self):
        hits = os.path.join(self.tmp.name, "ro")
        os.makedirs(hits)
        os.chmod(hits, 0o555)
        # root writes anyway: drop the capability that lets it, as the tests of the CLI do
        pre = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
        env = dict(os.environ, PYTHONPATH=PATH, TRITON_CACHE_DIR=self.cache, MCM_HITS_DIR=hits)
        r = subprocess.run(pre + [sys.executable, "-c", WORKLOAD, "30"], env=env, capture_output=True, text=True)
        os.chmod(hits, 0o755)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count("mcm_tracker: recording stopped"), 1, r.stderr)
        self.assertEqual(os.listdir(hits), [])

    def test_a_full_disk_stops_recording_not_the_program(self):
        # a file size limit makes writes fail the way a full disk does (EFBIG instead of ENOSPC)
        limit = textwrap.dedent("""
            import resource, signal
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))
        """)
        env = dict(os.environ, PYTHONPATH=PATH, TRITON_CACHE_DIR=self.cache,
                   MCM_HITS_DIR=os.path.join(self.tmp.name, "hits"))
        # the cache itself is written first, without the limit
        self.assertEqual(run(["10"], {"TRITON_CACHE_DIR": self.cache, "MCM_HITS_DIR": os.path.join(self.tmp.name, "warmup-hits")}).returncode, 0)
        code = limit + WORKLOAD.replace("n = int(sys.argv[1])", "n = 400")
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done 400", r.stdout)
        self.assertEqual(r.stderr.count("mcm_tracker: recording stopped"), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
