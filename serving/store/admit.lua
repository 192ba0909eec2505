-- Auth + rate-limit admission in one round trip (EVALSHA). All keys share the API key's
-- hash tag, so the script is cluster-safe.
-- KEYS[1] key record (hash)   KEYS[2] requests window (hash: second -> count)
-- KEYS[3] tokens window (hash) KEYS[4] daily token counter of day ARGV[4]
-- KEYS[5] requests in flight (zset: lease id -> expiry ms)
-- ARGV[1] model alias  ARGV[2] estimated tokens
-- ARGV[3] '1' to charge a generation, '2' to count a request that generates nothing (its rate
-- only: a key out of budget may still read its usage), '0' to look the key up
-- ARGV[4] the day (days since the epoch, UTC) KEYS[4] is for
-- The key's GRANT settings (serving/settings/keys.py: GRANT_FIELDS, filled in at load, in that
-- order, '' where unset) end every 'ok' and limit result.
-- ARGV[5] lease id ('' for a request that generates nothing: no in-flight lease)  ARGV[6] lease ms
-- Budgets in dollars (#29): KEYS[6] KEYS[7] the key's spend (nano-dollars) this day and month,
-- KEYS[8] its tenant's record, KEYS[9] KEYS[10] the tenant's spend this day and month (with no
-- tenant: names in the key's own slot, never read). ARGV[7] the tenant the caller believes the key
-- has ('' none), ARGV[8] the request's worst-case cost in nano-dollars, ARGV[9] the time zone the
-- caller named the periods in. A key whose tenant or time zone is not the caller's is answered
-- {'tenant', id, name, models, tenant, zone}: the caller asks again with those (a key's first
-- request on an instance may take three round trips: its tenant, the tenant's zone, the answer). A tenant's keys
-- are minted into its hash slot (access/keys.py), so the script stays on one cluster node.
-- Spend is reserved at the worst case and corrected by settle.lua to the real cost.
-- An empty alias is a request for no model (usage reports): it counts against the request rate.
-- Time is the store's (TIME), never an instance's clock: instances whose clocks disagree still
-- share exact windows. Windows are 60 one-second buckets: never more than the limit in any
-- 60 s, exactly, across any number of façade instances.
local unpack = unpack or table.unpack
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local alias = ARGV[1]
local estimate = tonumber(ARGV[2])
local second = math.floor(now / 1000)
local oldest = second - 59
local day = math.floor(second / 86400)

local r = redis.call('HMGET', KEYS[1], 'id', 'name', 'models', 'rpm', 'tpm', 'daily_tokens', 'expires_at',
                     'disabled', 'max_in_flight', 'tenant', 'daily_budget_usd', 'monthly_budget_usd',
                     {{GRANT_FIELDS}})
if not r[1] then return {'unknown'} end
if r[8] == '1' then return {'disabled'} end
local expires = tonumber(r[7] or '0') or 0
if expires > 0 and expires * 1000 <= now then return {'expired'} end
local id, name, models = r[1], r[2] or '', r[3] or '*'
local rpm = tonumber(r[4] or '0') or 0
local tpm = tonumber(r[5] or '0') or 0
local daily = tonumber(r[6] or '0') or 0
local most_in_flight = tonumber(r[9] or '0') or 0
local tenant = r[10] or ''
local grants = {}
for i = 13, #r do grants[#grants + 1] = r[i] or '' end
local budgets = {tonumber(r[11] or '0') or 0, tonumber(r[12] or '0') or 0, 0, 0}  -- dollars
local tenant_models, zone = '*', 'UTC'
-- KEYS[8] is the tenant the caller named: another tenant's record is not ours to read.
if tenant ~= ARGV[7] then return {'tenant', id, name, models, tenant, 'UTC'} end
if tenant ~= '' then
  local t = redis.call('HMGET', KEYS[8], 'disabled', 'models', 'daily_budget_usd', 'monthly_budget_usd',
                       'time_zone', {{TENANT_GRANT_FIELDS}})
  if not t[1] then return {'no_tenant'} end
  if t[1] == '1' then return {'tenant_disabled'} end
  tenant_models = t[2] or '*'
  budgets[3], budgets[4] = tonumber(t[3] or '0') or 0, tonumber(t[4] or '0') or 0
  if t[5] and t[5] ~= '' then zone = t[5] end
  for i = 6, #t do grants[#grants + 1] = t[i] or '' end  -- the tenant's, after the key's
end
if zone ~= ARGV[9] then return {'tenant', id, name, models, tenant, zone} end
if ARGV[3] == '0' then
  local looked = {'ok', id, name, models, rpm, tpm, daily, most_in_flight, tenant, tenant_models}
  for _, value in ipairs(grants) do looked[#looked + 1] = value end
  return looked
end
if ARGV[3] == '2' then tpm, daily, most_in_flight = 0, 0, 0 end
local function allows(list, name)
  return list == '*' or string.find(',' .. list .. ',', ',' .. name .. ',', 1, true) ~= nil
end
if alias ~= '' and not (allows(models, alias) and allows(tenant_models, alias)) then
  return {'forbidden', id, name, models}
end
-- The caller named the day counter by its own clock; around midnight it may be wrong.
if daily > 0 and tonumber(ARGV[4]) ~= day then return {'day', id, name, models, day} end

local function window(key)
  local flat = redis.call('HGETALL', key)
  local buckets, used, stale = {}, 0, {}
  for i = 1, #flat, 2 do
    local b, n = tonumber(flat[i]), tonumber(flat[i + 1])
    if b < oldest then stale[#stale + 1] = flat[i]
    else used = used + n; buckets[#buckets + 1] = {b, n} end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  table.sort(buckets, function(x, y) return x[1] < y[1] end)
  return used, buckets
end

-- ms until `needed` units have left the window
local function until_freed(buckets, needed)
  if needed <= 0 then return 0 end
  local freed = 0
  for _, bucket in ipairs(buckets) do
    freed = freed + bucket[2]
    if freed >= needed then return (bucket[1] + 60) * 1000 - now end
  end
  return 60000
end

local r_used, r_buckets, t_used, t_buckets, d_used, in_flight = 0, {}, 0, {}, 0, 0
if rpm > 0 then r_used, r_buckets = window(KEYS[2]) end
if tpm > 0 then t_used, t_buckets = window(KEYS[3]) end
if daily > 0 then d_used = tonumber(redis.call('GET', KEYS[4]) or '0') end
local leased = most_in_flight > 0 and ARGV[5] ~= ''
if leased then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)  -- leases of crashed instances expire
  in_flight = redis.call('ZCARD', KEYS[5])
end

-- Budgets: what is spent or reserved this day and month, the key's and its tenant's.
local cost = tonumber(ARGV[8]) or 0
local spend_keys = {KEYS[6], KEYS[7], KEYS[9], KEYS[10]}
local scopes = {'key', 'tenant'}
local budgeted = ARGV[3] == '1' and ((tenant ~= '') and 4 or 2) or 0
local over, over_spent = 0, 0
for i = 1, budgeted do
  if budgets[i] > 0 and over == 0 then
    local spent = tonumber(redis.call('GET', spend_keys[i]) or '0')
    if spent + cost > budgets[i] * 1e9 then over, over_spent = i, spent end
  end
end

local status, retry = 'ok', 0
if daily > 0 and d_used >= daily then
  status = 'quota'  -- the lasting conditions first: retrying within the minute cannot help
elseif over > 0 then
  status = 'budget'
elseif rpm > 0 and r_used + 1 > rpm then
  status, retry = 'requests', until_freed(r_buckets, r_used + 1 - rpm)
elseif leased and in_flight >= most_in_flight then
  status, retry = 'in_flight', 1000
elseif tpm > 0 and estimate > tpm then
  status = 'too_large'
elseif tpm > 0 and t_used + estimate > tpm then
  status, retry = 'tokens', until_freed(t_buckets, t_used + estimate - tpm)
end

if status == 'ok' then
  if rpm > 0 then
    redis.call('HINCRBY', KEYS[2], second, 1)
    redis.call('EXPIRE', KEYS[2], 61)
    r_used = r_used + 1
    r_buckets[#r_buckets + 1] = {second, 1}
  end
  if tpm > 0 and estimate > 0 then
    redis.call('HINCRBY', KEYS[3], second, estimate)
    redis.call('EXPIRE', KEYS[3], 61)
    t_used = t_used + estimate
    t_buckets[#t_buckets + 1] = {second, estimate}
  end
  if daily > 0 and estimate > 0 then
    redis.call('INCRBY', KEYS[4], estimate)
    redis.call('EXPIRE', KEYS[4], 172800)
    d_used = d_used + estimate
  end
  if leased then
    local lease_ms = tonumber(ARGV[6])
    redis.call('ZADD', KEYS[5], now + lease_ms, ARGV[5])
    redis.call('PEXPIRE', KEYS[5], lease_ms)
    in_flight = in_flight + 1
  end
  if cost > 0 then  -- reserved at the worst case; settle.lua corrects it to the real cost
    for i = 1, budgeted do
      redis.call('INCRBY', spend_keys[i], ARGV[8])  -- the integer as sent: never a float's text
      redis.call('EXPIRE', spend_keys[i], i % 2 == 1 and 259200 or 3024000)  -- days 3 days, months 35
    end
  end
end

local reply = {status, id, name, models,
               rpm, rpm - r_used, until_freed(r_buckets, r_used),
               tpm, tpm - t_used, until_freed(t_buckets, t_used),
               second, daily, d_used, retry, most_in_flight, in_flight, day, tenant, tenant_models,
               over > 0 and scopes[math.floor((over + 1) / 2)] or '', over > 0 and (over % 2 == 1 and 'day' or 'month') or '',
               over > 0 and math.floor(budgets[over] * 1e9) or 0, over_spent}
for _, value in ipairs(grants) do reply[#reply + 1] = value end
return reply
