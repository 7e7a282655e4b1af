-- VoiceRegistry::take. ARGV[2] the voice id, ARGV[3] '1' to take it even in a call.
-- Returns the removed hash, or nil (unknown, or in a call: then nothing changed).
local id = ARGV[2]
local entry = read(id)
if not entry then return false end
if ARGV[3] ~= '1' and field(id, 'state') == 'in_call' then return false end
unindex(id)
redis.call('DEL', voice_key(id))
return entry
