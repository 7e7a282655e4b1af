-- Claims a conversation's delivery (DeliveryLedger::claim), atomically.
-- KEYS[1]  the conversation's entry (a hash: state, fp, token, lease_until, outcome, seq)
-- ARGV[1]  the delivery's fingerprint (hex)
-- ARGV[2]  a fresh random token, the new owner's proof
-- ARGV[3]  the lease, ms
-- ARGV[4]  how long the entry outlives the lease, ms (the retention): a vanished owner's claim
--          is reported uncertain to whoever claims within that time
-- Returns {'claimed', '0'|'1' (uncertain)}, {'inflight'}, {'completed', outcome} or {'conflict'}.
-- Time is Redis's own clock, so replicas with skewed clocks agree on when a lease lapsed.
local entry = KEYS[1]
local fields = redis.call('HMGET', entry, 'state', 'fp', 'lease_until', 'outcome')
local state, fp, lease_until, outcome = fields[1], fields[2], fields[3], fields[4]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local uncertain = '0'
if state == 'inflight' and tonumber(lease_until) > now then
  if fp == ARGV[1] then return {'inflight'} end
  return {'conflict'}
elseif state == 'completed' then
  if fp == ARGV[1] then return {'completed', outcome} end
  return {'conflict'}
elseif state then
  -- A lapsed claim (its owner vanished mid-delivery) or a release that said a voice may exist:
  -- either way a voice may be on the platform, whatever body this delivery has.
  uncertain = '1'
end

redis.call('DEL', entry)
redis.call('HSET', entry, 'state', 'inflight', 'fp', ARGV[1], 'token', ARGV[2],
  'lease_until', string.format('%d', now + tonumber(ARGV[3])))
redis.call('PEXPIRE', entry, tonumber(ARGV[3]) + tonumber(ARGV[4]))
return {'claimed', uncertain}
