-- End of a request, one round trip: replace the up-front token estimate with the real usage,
-- add the request to the key's daily usage aggregate, and release its in-flight lease.
-- KEYS[1] tokens window  KEYS[2] daily token counter of the admission day
-- KEYS[3] usage aggregate (hash) of the admission day  KEYS[4] requests in flight (zset)
-- ARGV[1] bucket second the estimate was charged to  ARGV[2] tokens used  ARGV[3] estimate charged
-- ARGV[4] alias  ARGV[5] prompt tokens  ARGV[6] completion tokens  ARGV[7] '1' if it failed
-- ARGV[8] '1' if the key has a token limit  ARGV[9] '1' if it has a daily budget
-- ARGV[10] lease id ('' when the request took none)
-- Spend (#29): KEYS[5] KEYS[6] the key's spend this day and month, KEYS[7] KEYS[8] its tenant's
-- (access/spend.py names them; with no tenant, names never touched). ARGV[11] the real cost and
-- ARGV[12] the cost reserved at admission, in nano-dollars; ARGV[13] '1' with a tenant;
-- ARGV[14] cached prompt tokens.
-- KEYS[9] this settlement's mark: a settlement replayed from the backlog after a timeout whose
-- first try had in fact run (the reply was lost) finds it and changes nothing.
if redis.call('SET', KEYS[9], '1', 'NX', 'EX', 172800) == false then return 0 end
-- Every key written gets a TTL: a settlement replayed after an outage leaves nothing behind.
local used = tonumber(ARGV[2])
local estimate = tonumber(ARGV[3])
if ARGV[8] == '1' then
  local now = tonumber(redis.call('TIME')[1])
  -- A grant served while the store was down carries an instance's clock: never a future bucket.
  local bucket = math.min(tonumber(ARGV[1]), now)
  if bucket > now - 60 then
    -- The estimate is still in the window: correct it to what was used.
    if used ~= estimate then
      local left = redis.call('HINCRBY', KEYS[1], bucket, used - estimate)
      if left < 0 then redis.call('HSET', KEYS[1], bucket, 0) end
    end
  elseif used > 0 then
    -- A long request: its estimate has left the window, so what it used counts now.
    redis.call('HINCRBY', KEYS[1], now, used)
  end
  redis.call('EXPIRE', KEYS[1], 61)
end
if ARGV[9] == '1' and used ~= estimate then
  local total = redis.call('INCRBY', KEYS[2], used - estimate)
  if total < 0 then redis.call('SET', KEYS[2], 0) end
  redis.call('EXPIRE', KEYS[2], 172800)
end
local alias = ARGV[4]
redis.call('HINCRBY', KEYS[3], alias .. ':requests', 1)
redis.call('HINCRBY', KEYS[3], alias .. ':prompt_tokens', ARGV[5])
redis.call('HINCRBY', KEYS[3], alias .. ':completion_tokens', ARGV[6])
if ARGV[7] == '1' then redis.call('HINCRBY', KEYS[3], alias .. ':errors', 1) end
local cost, reserved, cached = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[14])
if cost > 0 then redis.call('HINCRBY', KEYS[3], alias .. ':cost_nanos', cost) end
if cached > 0 then redis.call('HINCRBY', KEYS[3], alias .. ':cached_tokens', cached) end
if cost ~= reserved then
  for i = 5, ARGV[13] == '1' and 8 or 6 do
    local total = redis.call('INCRBY', KEYS[i], cost - reserved)
    if total < 0 then redis.call('SET', KEYS[i], 0) end  -- its reservation's period had expired
    redis.call('EXPIRE', KEYS[i], i % 2 == 1 and 259200 or 3024000)  -- days 3 days, months 35
  end
end
redis.call('EXPIRE', KEYS[3], 34560000)
if ARGV[10] ~= '' then redis.call('ZREM', KEYS[4], ARGV[10]) end
return 1
