"""The shard hash has three implementations that must agree: the nodes' (src/shard_map.c,
FNV-1a 64 then jump consistent hashing), test/integration/shardhash.py (tests that pick a
key's owner up front), and bench/common.lua (the wrk loaders of scripts/bench.sh, which send
each key straight to its owner).

  1 C against Python: for a few hundred keys and several shard counts, the shard that
    serves a key (a running cluster, REPL_FACTOR=1: a proxied reply names the owner in
    "address") is shardhash.owner_shard's
  2 Lua against Python: many more keys and shard counts, large ones included (jump hash
    computes in floating point), run by luajit (wrk's Lua is LuaJIT; common.lua needs its
    ffi and bit modules); and Lua against the nodes' answers of case 1

luajit comes with scripts/test.sh's dependencies; without it the Lua cases are skipped,
except under CI (CI=true), where that is a failure.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import SOURCE_DIR, Cluster, CkvTestCase, keypath, request  # noqa: E402
from loadgen import parallel  # noqa: E402
from shardhash import owner_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
COMMON_LUA = os.path.join(SOURCE_DIR, "bench", "common.lua")
NODE_SHARDS = (2, 3, 5, 8)  # clusters of that many nodes, REPL_FACTOR=1
LUA_SHARDS = tuple(range(1, 17)) + (31, 64, 100, 257, 1000, 4096, 65536, 1 << 20)

LUA_DRIVER = r'''
local ckv = dofile(arg[1])
assert(ckv.can_hash, "common.lua found no ffi/bit: not LuaJIT")
local out = assert(io.open(arg[3], "w"))
for line in io.lines(arg[2]) do
   local hex, n = line:match("^(%x*) (%d+)$")
   local key = hex:gsub("..", function(h) return string.char(tonumber(h, 16)) end)
   out:write(ckv.shard_of(key, tonumber(n)), "\n")
end
out:close()
'''


def sample_keys():
    """Keys of every kind a client sends: bench's, short, long (50 bytes), UTF-8, odd
    characters."""
    rng = random.Random(2024)
    keys = ["k%015d" % i for i in range(0, 200000, 1999)]  # bench/common.lua's keys
    keys += ["key-%d" % i for i in range(60)]
    keys += ["", "a", "b", "ab", "ba", "/", "a/b", "%41", "+", " ", "\t"]
    keys += ["x" * n for n in (1, 7, 8, 9, 16, 31, 32, 33, 49, 50)]
    keys += ["\u043a\u043b\u044e\u0447-%d" % i for i in range(20)]  # Cyrillic
    keys += ["\U0001F511%d" % i for i in range(10)]  # 4-byte UTF-8
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_.~!*'()"
    keys += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 50)))
             for _ in range(60)]
    return keys


def luajit():
    return shutil.which("luajit")


def lua_shards(pairs):
    """bench/common.lua's shard_of(key, n) for each (key, n), run by luajit."""
    d = tempfile.mkdtemp(prefix="ckv-lua-")
    try:
        inp, out, drv = (os.path.join(d, n) for n in ("in.txt", "out.txt", "driver.lua"))
        with open(inp, "w") as f:
            for k, n in pairs:
                f.write("%s %d\n" % (k.encode().hex(), n))
        with open(drv, "w") as f:
            f.write(LUA_DRIVER)
        r = subprocess.run([luajit(), drv, COMMON_LUA, inp, out], capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise AssertionError("luajit failed (%d): %s" % (r.returncode, r.stderr.decode()))
        with open(out) as f:
            return [int(x) for x in f.read().split()]
    finally:
        shutil.rmtree(d, ignore_errors=True)


class ShardHash(CkvTestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = [k for k in sample_keys() if k]  # the API has no empty key
        cls.clusters = {}
        try:
            for n in NODE_SHARDS:
                cls.clusters[n] = Cluster(n, 1, name="hash%d" % n)
        except BaseException:
            for c in cls.clusters.values():
                c.close()
            raise
        cls.node_answers = None

    @classmethod
    def tearDownClass(cls):
        problems = []
        for c in cls.clusters.values():
            problems += c.shutdown_check()
            c.close()
        if problems:
            raise AssertionError("node problems: %s" % problems)

    def node_shards(self):
        """{(key, n): shard} as the nodes compute it (cached: the Lua case reuses it)."""
        if type(self).node_answers is None:
            def owner(job):
                n, key = job
                c = self.clusters[n]
                st, js, _, raw = request(c.addrs[0], "GET", keypath(key))
                if st != 404 or not isinstance(js, dict):
                    raise AssertionError("GET %r at %s: %s %r" % (key, c.addrs[0], st, raw))
                return c.addrs.index(js.get("address", c.addrs[0])) + 1
            jobs = [(n, k) for n in NODE_SHARDS for k in self.keys]
            # a few client threads per cluster size, in parallel
            chunks = [jobs[i::8] for i in range(8)]
            results = parallel(lambda chunk: [owner(j) for j in chunk], chunks, timeout=120)
            answers = {}
            for chunk, res in zip(chunks, results):
                for (n, k), sid in zip(chunk, res):
                    answers[(k, n)] = sid
            type(self).node_answers = answers
        return self.node_answers

    def need_luajit(self):
        if luajit() is None:
            if os.environ.get("CI"):
                self.fail("luajit is not installed (scripts/test.sh installs it)")
            self.skipTest("luajit is not installed (scripts/test.sh installs it)")

    def test_c_matches_python(self):
        answers = self.node_shards()
        bad = ["%r over %d shards: node %d, shardhash.py %d" % (k, n, sid, owner_shard(k, n))
               for (k, n), sid in sorted(answers.items()) if owner_shard(k, n) != sid]
        self.assertNoErrors(bad, "keys whose shard differs (of %d)" % len(answers))
        # every shard of every cluster got some keys: the comparison is not vacuous
        for n in NODE_SHARDS:
            got = {sid for (k, m), sid in answers.items() if m == n}
            self.assertEqual(got, set(range(1, n + 1)), "shards seen over %d shards" % n)

    def test_lua_matches_c_and_python(self):
        self.need_luajit()
        answers = self.node_shards()
        pairs = sorted(answers)
        lua = lua_shards(pairs)
        bad = ["%r over %d shards: node %d, common.lua %d" % (k, n, answers[(k, n)], s)
               for (k, n), s in zip(pairs, lua) if s != answers[(k, n)]]
        self.assertNoErrors(bad, "keys whose shard differs between C and Lua (of %d)"
                            % len(pairs))
        pairs = [(k, n) for n in LUA_SHARDS for k in sample_keys()]
        lua = lua_shards(pairs)
        self.assertEqual(len(lua), len(pairs))
        bad = ["%r over %d shards: shardhash.py %d, common.lua %d" % (k, n, owner_shard(k, n), s)
               for (k, n), s in zip(pairs, lua) if s != owner_shard(k, n)]
        self.assertNoErrors(bad, "keys whose shard differs between Python and Lua (of %d)"
                            % len(pairs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
