-- bench/get_ctx.lua — GET of existing keys with a realistic causal-context body
-- (scenario 2). BENCH_CONTEXT is the JSON object of a context that the node has reached
-- (scripts/bench.sh takes it from the reply to a PUT), sent as {"causal-context": ...}.
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local reqs, n, i = nil, 0, 0

function init(args)
   local ctx = os.getenv("BENCH_CONTEXT")
   if ctx == nil or ctx == "" then
      error("BENCH_CONTEXT (a causal-context JSON object) is not set")
   end
   local body = '{"causal-context":' .. ctx .. '}'
   reqs = {}
   for j, k in ipairs(ckv.keys()) do
      reqs[j] = ckv.request("GET", "/kv-store/keys/" .. k, body)
   end
   n = #reqs
end

function request()
   i = i % n + 1
   return reqs[i]
end

done = ckv.done
