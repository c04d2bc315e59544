-- bench/get.lua — GET of existing keys, no body (scenarios 1 and 5).
-- Cycles over the key set (see common.lua: BENCH_KEYS_FILE or BENCH_KEY_COUNT).
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

ckv.cycle_keys("GET")
