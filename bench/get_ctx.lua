-- bench/get_ctx.lua — GET of existing keys with a realistic causal-context body
-- (scenario 2). BENCH_CONTEXT is the JSON object of a context that the node has reached
-- (scripts/bench.sh takes it from the reply to a PUT), sent as {"causal-context": ...}.
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

ckv.cycle_keys("GET", function()
   local ctx = os.getenv("BENCH_CONTEXT")
   if ctx == nil or ctx == "" then
      error("BENCH_CONTEXT (a causal-context JSON object) is not set")
   end
   return '{"causal-context":' .. ctx .. '}'
end)
