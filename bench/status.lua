-- bench/status.lua — GET /kv-store/status, the dashboard's poll (scenario 14).
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local req
init = function(args)
   req = ckv.request("GET", "/kv-store/status")
end
request = function()
   return req
end
done = ckv.done
