-- bench/overload.lua — the load of scripts/overload.sh: over wrk's keep-alive connections,
-- about 70% GET and 25% PUT (100-byte values) over OVERLOAD_KEYS keys "k%015d", and 5%
-- malformed requests: most of them JSON/URL/method errors that keep the connection
-- (400/404/405), one in 25 an HTTP-level error (a broken header line) that libevent
-- answers with 400 and a closed connection, so wrk reconnects and the node's connection
-- accounting sees churn (a few hundred reconnects a second).
--
-- Replies are counted by status in every thread; done() prints one line:
--   OVERLOAD_RESULT {"requests":..,"rps":..,"p99_us":..,"malformed":..,"status":{"200":..},...}
--
-- Environment: OVERLOAD_KEYS (default 10000), OVERLOAD_MALFORMED_PCT (default 5).
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local threads = {}
local nkeys, malformed_pct = 10000, 5
local get_prefix, get_suffix, put_prefix, put_suffix
local bad = {}
local bad_closing = {}
-- per thread
statuses = {}
malformed = 0
sent = 0

local function raw(method, path, headers, body)
   return ckv.request(method, path, body, headers)
end

function setup(thread)
   thread:set("id", #threads + 1)
   threads[#threads + 1] = thread
end

function init(args)
   nkeys = ckv.env_int("OVERLOAD_KEYS", 10000)
   malformed_pct = ckv.env_int("OVERLOAD_MALFORMED_PCT", 5)
   math.randomseed(os.time() * 1000 + (id or 0))
   local get = raw("GET", "/kv-store/keys/KEY")
   local at = get:find("KEY", 1, true)
   get_prefix, get_suffix = get:sub(1, at - 1), get:sub(at + 3)
   local put = raw("PUT", "/kv-store/keys/KEY", nil, ckv.PUT_BODY)
   at = put:find("KEY", 1, true)
   put_prefix, put_suffix = put:sub(1, at - 1), put:sub(at + 3)
   local k = ckv.key(1)
   bad = {
      raw("PUT", "/kv-store/keys/" .. k, nil, "["),                                  -- 400
      raw("PUT", "/kv-store/keys/" .. k, nil, '{"value":1}'),                        -- 400
      raw("PUT", "/kv-store/keys/" .. k, nil, '{"value":"a","value":"b"}'),          -- 400
      raw("PUT", "/kv-store/keys/" .. k, nil, '{"value":""}'),                       -- 400
      raw("PUT", "/kv-store/keys/" .. string.rep("x", 51), nil, ckv.PUT_BODY),       -- 400
      raw("GET", "/kv-store/keys/%ff%fe"),                                           -- 400
      raw("GET", "/kv-store/keys/" .. k, nil, '{"causal-context":{"clock":{"a":-1}}}'), -- 400
      raw("GET", "/kv-store/keys/" .. k, nil, string.rep("[", 5000)),                -- 400
      raw("PATCH", "/kv-store/keys/" .. k),                                          -- 405
      raw("GET", "/kv-store/no-such-thing"),                                         -- 404
      raw("DELETE", "/kv-store/shards"),                                             -- 405
      raw("GET", "/kv-store/shards/99"),                                             -- 404
   }
   bad_closing = {
      raw("GET", "/kv-store/key-count", { "This is not a header line" }),            -- 400, close
      "GET /kv-store/key-count HTTP/1.1 garbage\r\n\r\n",                            -- 400, close
   }
end

function request()
   sent = sent + 1
   local r = math.random() * 100
   if r < malformed_pct then
      malformed = malformed + 1
      if r < malformed_pct / 25 then
         return bad_closing[math.random(#bad_closing)]
      end
      return bad[math.random(#bad)]
   end
   local key = ckv.key(math.random(0, nkeys - 1))
   if r < malformed_pct + 25 then
      return put_prefix .. key .. put_suffix
   end
   return get_prefix .. key .. get_suffix
end

function response(status, headers, body)
   local s = tostring(status)
   statuses[s] = (statuses[s] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   local mal, snt = 0, 0
   for _, t in ipairs(threads) do
      for s, n in pairs(t:get("statuses")) do
         total[s] = (total[s] or 0) + n
      end
      mal = mal + t:get("malformed")
      snt = snt + t:get("sent")
   end
   local parts = {}
   for s, n in pairs(total) do
      parts[#parts + 1] = string.format('"%s":%d', s, n)
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'OVERLOAD_RESULT {"requests":%d,"sent":%d,"malformed":%d,"duration_s":%.3f,"rps":%.1f,' ..
      '"p50_us":%d,"p99_us":%d,"max_us":%d,"status":{%s},' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
      summary.requests, snt, mal, secs, secs > 0 and summary.requests / secs or 0,
      latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ","),
      e.connect, e.read, e.write, e.timeout, e.status))
end
