-- bench/mix.lua — 90% GET / 10% PUT (100-byte values) over a key set (scenario 4).
-- Every tenth request is a PUT; GETs and PUTs each cycle over the keys.
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local gets, puts, n = nil, nil, 0
local c, gi, pi = 0, 0, 0

function init(args)
   gets, puts = {}, {}
   for j, k in ipairs(ckv.keys()) do
      gets[j] = ckv.request("GET", "/kv-store/keys/" .. k)
      puts[j] = ckv.request("PUT", "/kv-store/keys/" .. k, ckv.PUT_BODY)
   end
   n = #gets
   -- Start the PUTs half-way through the key set so that they do not trail the GETs.
   pi = math.floor(n / 2)
end

function request()
   c = c + 1
   if c % 10 == 0 then
      pi = pi % n + 1
      return puts[pi]
   end
   gi = gi % n + 1
   return gets[gi]
end

done = ckv.done
