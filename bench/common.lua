-- bench/common.lua — helpers shared by the wrk scripts of scripts/bench.sh.
-- A scenario script loads it with:
--   local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
-- and sets `done = ckv.done`, so every run ends with one machine-readable line:
--   BENCH_RESULT {"requests":..,"duration_us":..,"rps":..,"p50_us":..,"p99_us":..,...}
--
-- Environment (read by the scenario scripts):
--   BENCH_KEY_COUNT  keys k000000000000000 … used when no key file is given (default 10000)
--   BENCH_KEYS_FILE  one key per line (e.g. keys that another shard owns)
local M = {}

M.VALUE = string.rep("v", 100)                      -- 100-byte values
M.PUT_BODY = '{"value":"' .. M.VALUE .. '"}'

-- Keys are 16 bytes: "k" and 15 digits.
function M.key(i)
   return string.format("k%015d", i)
end

function M.env_int(name, default)
   local v = os.getenv(name)
   if v == nil or v == "" then
      return default
   end
   local n = tonumber(v)
   if n == nil then
      error(name .. " is not a number: " .. v)
   end
   return math.floor(n)
end

-- The key set of a scenario: BENCH_KEYS_FILE, else BENCH_KEY_COUNT generated keys.
function M.keys()
   local keys = {}
   local file = os.getenv("BENCH_KEYS_FILE")
   if file ~= nil and file ~= "" then
      local f = assert(io.open(file, "r"))
      for line in f:lines() do
         if line ~= "" then
            keys[#keys + 1] = line
         end
      end
      f:close()
   else
      for i = 0, M.env_int("BENCH_KEY_COUNT", 10000) - 1 do
         keys[#keys + 1] = M.key(i)
      end
   end
   if #keys == 0 then
      error("no keys to use")
   end
   return keys
end

-- Which shard (1 … shards) owns a key: the same function as src/shard_map.c, FNV-1a 64
-- over the key bytes, then jump consistent hashing. Lets a loader send every key straight
-- to its owner; if the two ever differ, the keys are merely proxied (slower, still right).
local has_ffi, ffi = pcall(require, "ffi")
local has_bit, bit = pcall(require, "bit")
M.can_hash = has_ffi and has_bit
if M.can_hash then
   local U64 = ffi.typeof("uint64_t")
   local FNV_BASIS = U64(0xcbf29ce4) * U64(0x100000000) + U64(0x84222325)
   local FNV_PRIME = U64(0x100) * U64(0x100000000) + U64(0x1b3)
   local LCG_MULT = U64(0x27bb2ee6) * U64(0x100000000) + U64(0x87b0b0fd)
   local TWO31 = 2147483648.0

   function M.fnv1a64(s)
      local h = FNV_BASIS
      for i = 1, #s do
         h = bit.bxor(h, U64(s:byte(i))) * FNV_PRIME
      end
      return ffi.cast("uint64_t", h)
   end

   function M.jump_hash(key, buckets)
      local b, j = 0, 0.0
      key = U64(key)
      while j < buckets do
         b = math.floor(j)
         key = key * LCG_MULT + 1
         j = (b + 1) * (TWO31 / tonumber(bit.rshift(key, 33) + 1))
      end
      return math.floor(b)
   end

   function M.shard_of(key, shards)
      return M.jump_hash(M.fnv1a64(key), shards) + 1
   end
end

-- One raw HTTP/1.1 request (keep-alive is HTTP/1.1's default), built once and reused.
-- wrk.headers carries the Host header that wrk.init set from the URL; extra is an optional
-- list of further header lines ("Name: value").
function M.request(method, path, body, extra)
   local s = { method .. " " .. path .. " HTTP/1.1" }
   for name, value in pairs(wrk.headers) do
      if name ~= "Content-Length" and name ~= "Content-Type" then
         s[#s + 1] = name .. ": " .. value
      end
   end
   for _, h in ipairs(extra or {}) do
      s[#s + 1] = h
   end
   if body ~= nil then
      s[#s + 1] = "Content-Type: application/json"
      s[#s + 1] = "Content-Length: " .. #body
   end
   s[#s + 1] = ""
   s[#s + 1] = body or ""
   return table.concat(s, "\r\n")
end

-- Installs wrk's init, request and done for the usual scenario: one prepared request per
-- key (method, and the body that body_fn() returns at init, or none), sent in turn.
function M.cycle_keys(method, body_fn)
   local reqs, i = {}, 0
   init = function(args)
      local body = body_fn and body_fn() or nil
      for j, k in ipairs(M.keys()) do
         reqs[j] = M.request(method, "/kv-store/keys/" .. k, body)
      end
   end
   request = function()
      i = i % #reqs + 1
      return reqs[i]
   end
   done = M.done
end

-- The pid of this wrk process (/proc/self is the process, also from a wrk thread).
function M.own_pid()
   local f = io.open("/proc/self/stat", "r")
   if f == nil then
      return nil
   end
   local pid = f:read("*n")
   f:close()
   return pid
end

function M.done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"rps":%.1f,' ..
      '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,"mean_us":%.1f,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
      summary.requests, summary.duration, secs > 0 and summary.requests / secs or 0,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end

return M
