-- End of a request, one round trip: replace the up-front token estimate with the real usage
-- and add the request to the key's daily usage aggregate.
-- KEYS[1] tokens window  KEYS[2] daily token counter  KEYS[3] usage aggregate (hash) for the day
-- ARGV[1] bucket second the estimate was charged to  ARGV[2] real - estimate  ARGV[3] now (s)
-- ARGV[4] alias  ARGV[5] prompt tokens  ARGV[6] completion tokens  ARGV[7] '1' if it failed
-- ARGV[8] '1' if the key has a token limit  ARGV[9] '1' if it has a daily budget
local delta = tonumber(ARGV[2])
if delta ~= 0 then
  if ARGV[8] == '1' and tonumber(ARGV[1]) > tonumber(ARGV[3]) - 60 then
    local left = redis.call('HINCRBY', KEYS[1], ARGV[1], delta)
    if left < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end
  end
  if ARGV[9] == '1' then redis.call('INCRBY', KEYS[2], delta) end
end
local alias = ARGV[4]
redis.call('HINCRBY', KEYS[3], alias .. ':requests', 1)
redis.call('HINCRBY', KEYS[3], alias .. ':prompt_tokens', ARGV[5])
redis.call('HINCRBY', KEYS[3], alias .. ':completion_tokens', ARGV[6])
if ARGV[7] == '1' then redis.call('HINCRBY', KEYS[3], alias .. ':errors', 1) end
redis.call('EXPIRE', KEYS[3], 34560000)
return 1
