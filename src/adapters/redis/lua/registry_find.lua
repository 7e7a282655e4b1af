-- VoiceRegistry::by_conversation and ::by_call. ARGV[2] the index key under the prefix
-- ('conversation:{id}' or 'call:{id}'). Returns the clone's hash, or nil.
local id = redis.call('GET', P .. ARGV[2])
if not id then return false end
return read(id) or false
