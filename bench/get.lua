-- bench/get.lua — GET of existing keys, no body (scenarios 1 and 5).
-- Cycles over the key set (see common.lua: BENCH_KEYS_FILE or BENCH_KEY_COUNT).
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local reqs, n, i = nil, 0, 0

function init(args)
   reqs = {}
   for j, k in ipairs(ckv.keys()) do
      reqs[j] = ckv.request("GET", "/kv-store/keys/" .. k)
   end
   n = #reqs
end

function request()
   i = i % n + 1
   return reqs[i]
end

done = ckv.done
