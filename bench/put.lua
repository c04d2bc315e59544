-- bench/put.lua — PUT of 100-byte values over a key set (scenarios 3 and 6).
-- Default 10,000 keys; BENCH_KEYS_FILE picks the keys (scenario 6: keys of the shard of
-- the node under test, so that every write is accepted there and replicated).
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local reqs, n, i = nil, 0, 0

function init(args)
   reqs = {}
   for j, k in ipairs(ckv.keys()) do
      reqs[j] = ckv.request("PUT", "/kv-store/keys/" .. k, ckv.PUT_BODY)
   end
   n = #reqs
end

function request()
   i = i % n + 1
   return reqs[i]
end

done = ckv.done
