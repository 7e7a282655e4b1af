-- VoiceRegistry::least_recently_used: the clone not in a call with the oldest last use (the
-- oldest made among equals). Returns its hash, or nil.
local best, best_last, best_created
local ranked = redis.call('ZRANGE', P .. 'voices', 0, -1, 'WITHSCORES')
for i = 1, #ranked, 2 do
  local last = tonumber(ranked[i + 1])
  -- Ranked by last use: past the first eligible one's time nothing can beat it.
  if best and last > best_last then break end
  local h = redis.call('HMGET', voice_key(ranked[i]), 'state', 'created_at')
  if h[1] and h[1] ~= 'in_call' then
    local created = tonumber(h[2])
    if best == nil or created < best_created then
      best, best_last, best_created = ranked[i], last, created
    end
  end
end
if not best then return false end
return read(best)
