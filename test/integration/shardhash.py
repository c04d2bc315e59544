"""shardhash — key -> shard exactly as src/shard_map.c computes it (jump consistent hash
over FNV-1a 64 of the key bytes), for tests that need to know a key's owner up front.
bench/common.lua has the same function for the wrk loaders; test_shard_hash.py checks
the three (C through a running node, this one, the Lua one) agree."""


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for c in data:
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def jump_hash(key, buckets):
    b, j = 0, 0.0
    while j < buckets:
        b = int(j)
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        j = float(b + 1) * (float(1 << 31) / float((key >> 33) + 1))
    return b


def owner_shard(key, nshards):
    """1-based shard owning `key` (a str: its UTF-8 bytes are hashed)."""
    data = key.encode() if isinstance(key, str) else key
    return jump_hash(fnv1a64(data), nshards) + 1


def keys_for_shard(prefix, shard, nshards, count):
    """The first `count` keys "<prefix>-<i>" that shard `shard` of `nshards` owns."""
    out, i = [], 0
    while len(out) < count:
        k = "%s-%d" % (prefix, i)
        if owner_shard(k, nshards) == shard:
            out.append(k)
        i += 1
    return out
