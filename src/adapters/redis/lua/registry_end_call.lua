-- VoiceRegistry::end_call. ARGV[2] the voice id. Returns 1 when it was in a call, else 0.
local id = ARGV[2]
if field(id, 'state') ~= 'in_call' then return 0 end
redis.call('HSET', voice_key(id), 'state', 'live')
redis.call('HDEL', voice_key(id), 'call', 'since')
return 1
