-- bench/load.lua — bulk loader: PUT keys BENCH_LOAD_START … BENCH_LOAD_START+COUNT-1
-- (16-byte keys "k%015d", 100-byte values) over all of wrk's keep-alive connections, then
-- stop wrk at once (SIGINT to itself), so that the run's duration is the load time.
--   BENCH_LOAD_COUNT   keys in the range (default 1,000,000)
--   BENCH_LOAD_START   first key index (default 0)
--   BENCH_LOAD_SHARD   with BENCH_LOAD_SHARDS: send only the keys of the range that this
--   BENCH_LOAD_SHARDS  shard owns (common.lua's shard_of), so that one loader per shard
--                      writes each key straight to its owner, without proxying
-- Run it with -t1 (the counter lives in the one thread) and a -d that caps the load time.
-- After the last key is sent, the connections that are still free ask for the key count
-- (cheap, writes nothing) until every PUT has been answered. A PUT lost to a socket error
-- is never answered: BENCH_LOAD_GRACE seconds (default 5) after the last key was sent,
-- the loader stops anyway, and the caller sees the shortfall in the key count.
local ckv = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local idx, stop_idx = 0, 0      -- next key index to send; one past the last
local shard, shards = 0, 0      -- 0: every key
local sent, answered = 0, 0
local all_sent = false
local prefix, suffix, extra = nil, nil, nil
local pid, stopped = nil, false
local verified = false
local grace, all_sent_at = 5, nil

-- Moves idx to the next key this loader sends (or to stop_idx).
local function skip_foreign()
   if shard == 0 then
      return
   end
   while idx < stop_idx and ckv.shard_of(ckv.key(idx), shards) ~= shard do
      idx = idx + 1
   end
end

function init(args)
   idx = ckv.env_int("BENCH_LOAD_START", 0)
   stop_idx = idx + ckv.env_int("BENCH_LOAD_COUNT", 1000000)
   shard = ckv.env_int("BENCH_LOAD_SHARD", 0)
   shards = ckv.env_int("BENCH_LOAD_SHARDS", 0)
   if shard ~= 0 and (shards < shard or not ckv.can_hash) then
      error("BENCH_LOAD_SHARD needs BENCH_LOAD_SHARDS >= it, and LuaJIT's ffi and bit")
   end
   local put = ckv.request("PUT", "/kv-store/keys/KEY", ckv.PUT_BODY)
   local at = put:find("KEY", 1, true)
   prefix, suffix = put:sub(1, at - 1), put:sub(at + 3)
   extra = ckv.request("GET", "/kv-store/key-count")
   grace = ckv.env_int("BENCH_LOAD_GRACE", 5)
   pid = ckv.own_pid()
   skip_foreign()
   all_sent = idx >= stop_idx
end

local function stop()
   if stopped then
      return
   end
   stopped = true
   wrk.thread:stop()
   if pid ~= nil then
      -- Not os.execute: system() ignores SIGINT in this process while it runs.
      local p = io.popen("kill -INT " .. pid)
      if p ~= nil then
         p:close()
      end
   end
end

function request()
   -- wrk calls request() once in the (first) thread before the run, to check what it
   -- returns; that call must not use up a key.
   if not verified then
      verified = true
      return extra
   end
   if not all_sent then
      local k = ckv.key(idx)
      idx = idx + 1
      sent = sent + 1
      skip_foreign()
      all_sent = idx >= stop_idx
      return prefix .. k .. suffix
   end
   if answered >= sent then
      stop()
   elseif all_sent_at == nil then
      all_sent_at = os.time()
   elseif os.time() - all_sent_at > grace then
      stop()
   end
   return extra
end

function response(status, headers, body)
   if body ~= nil and body:find('"key-count"', 1, true) then
      return
   end
   answered = answered + 1
   if all_sent and answered >= sent then
      stop()
   end
end

done = ckv.done
