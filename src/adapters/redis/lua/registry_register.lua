-- VoiceRegistry::register. ARGV[2] the voice id, ARGV[3..] the hash's field/value pairs.
-- An entry with the same voice id is replaced, indexes included.
local id = ARGV[2]
if read(id) then unindex(id) end
redis.call('DEL', voice_key(id))
redis.call('HSET', voice_key(id), unpack(ARGV, 3))
index(id)
return 1
