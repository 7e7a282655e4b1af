-- VoiceRegistry::entries: every clone's hash, in one consistent reading.
local entries = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'voices', 0, -1)) do
  local entry = read(id)
  if entry then table.insert(entries, entry) end
end
return entries
