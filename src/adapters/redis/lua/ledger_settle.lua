-- Settles a claim (DeliveryLedger::complete and ::release), atomically, if the token still
-- owns it; then wakes the waiters of every replica.
-- KEYS[1]  the conversation's entry
-- KEYS[2]  the settled conversations, a sorted set by settlement sequence (oldest first)
-- KEYS[3]  the settlement sequence counter
-- ARGV[1]  the owner's token
-- ARGV[2]  'completed', 'uncertain' (released, a voice may exist) or 'forget' (released)
-- ARGV[3]  the outcome (JSON) when completed, else ''
-- ARGV[4]  retention, ms
-- ARGV[5]  capacity: at most this many settled conversations are remembered
-- ARGV[6]  the conversation id
-- ARGV[7]  the prefix of entry keys (entry key = prefix .. conversation id)
-- ARGV[8]  the channel waiters listen on
-- Returns 1 when settled, 0 when the token no longer owns the claim (nothing changed).
local entry = KEYS[1]
local fields = redis.call('HMGET', entry, 'state', 'token', 'fp')
if fields[1] ~= 'inflight' or fields[2] ~= ARGV[1] then return 0 end

redis.call('DEL', entry)
if ARGV[2] ~= 'forget' then
  local seq = redis.call('INCR', KEYS[3])
  redis.call('HSET', entry, 'state', ARGV[2], 'fp', fields[3], 'seq', seq)
  if ARGV[2] == 'completed' then redis.call('HSET', entry, 'outcome', ARGV[3]) end
  redis.call('PEXPIRE', entry, ARGV[4])
  redis.call('ZADD', KEYS[2], seq, ARGV[6])
  -- Beyond capacity the oldest settlements go first. One that was claimed again since (in
  -- flight) or settled again (another seq) is not this settlement any more, and stays.
  local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
  if excess > 0 then
    local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
    for i = 1, #oldest, 2 do
      local key = ARGV[7] .. oldest[i]
      local old = redis.call('HMGET', key, 'state', 'seq')
      if old[1] and old[1] ~= 'inflight' and old[2] == oldest[i + 1] then
        redis.call('DEL', key)
      end
    end
  end
end
redis.call('PUBLISH', ARGV[8], ARGV[6])
return 1
