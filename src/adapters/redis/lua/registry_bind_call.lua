-- VoiceRegistry::bind_call. ARGV[2] caller key, ARGV[3] used_since, ARGV[4] call, ARGV[5] now.
-- The same call bound again gets the clone it was bound to, unchanged.
local bound = redis.call('GET', P .. 'call:' .. ARGV[4])
if bound then
  local entry = read(bound)
  if entry then return entry end
end
local id = callers_clone(ARGV[2], tonumber(ARGV[3]))
if not id then return false end
append(id, 'calls', ARGV[4], false)
redis.call('SET', P .. 'call:' .. ARGV[4], id)
redis.call('HSET', voice_key(id), 'state', 'in_call', 'call', ARGV[4], 'since', ARGV[5])
touch(id, ARGV[5])
return read(id)
