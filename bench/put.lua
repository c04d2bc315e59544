-- bench/put.lua — PUT of 100-byte values over a key set (scenarios 3 and 6).
-- Default 10,000 keys; BENCH_KEYS_FILE picks the keys (scenario 6: keys of the shard of
-- the node under test, so that every write is accepted there and replicated).
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

ckv.cycle_keys("PUT", function() return ckv.PUT_BODY end)
