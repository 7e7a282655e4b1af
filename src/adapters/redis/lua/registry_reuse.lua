-- VoiceRegistry::reuse. ARGV[2] caller key, ARGV[3] used_since, ARGV[4] conversation, ARGV[5] now.
-- Returns the clone's hash after the use, or nil when the caller has no recent clone.
local id = callers_clone(ARGV[2], tonumber(ARGV[3]))
if not id then return false end
append(id, 'conversations', ARGV[4], true)
redis.call('SET', P .. 'conversation:' .. ARGV[4], id)
touch(id, ARGV[5])
return read(id)
