-- Shared by every registry script (prepended to each). Keys, all under the prefix ARGV[1]:
--   voice:{id}          a hash per clone: voice_id, voice_name, caller_key?, caller_name?,
--                       agent_id, conversations and calls (JSON arrays), created_at, last_used
--                       (unix seconds), state ('live' | 'in_call'), call? and since? (in a call)
--   voices              a sorted set of every clone by last use (eviction, listing, counting)
--   caller:{key}        a set: the clones of a caller key
--   conversation:{id}   the clone that served a conversation
--   call:{id}           the clone bound to a call
-- Keys are built here from stored ids, so these scripts suit one Redis (or one cluster slot
-- through a hash-tagged prefix), not keys spread over a cluster.
local P = ARGV[1]

local function voice_key(id) return P .. 'voice:' .. id end

-- The clone's hash as a flat array (HGETALL's reply), or nil when there is none.
local function read(id)
  local flat = redis.call('HGETALL', voice_key(id))
  if #flat == 0 then return nil end
  return flat
end

local function field(id, name) return redis.call('HGET', voice_key(id), name) end

local function contains(list, value)
  for _, item in ipairs(list) do
    if item == value then return true end
  end
  return false
end

-- The later of two unix times given as text, kept as text (no float formatting on the way).
local function later(a, b)
  if tonumber(b) > tonumber(a) then return b end
  return a
end

-- The caller's most recently used clone last used at or after used_since, or nil.
local function callers_clone(caller_key, used_since)
  local best, best_last, best_created
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'caller:' .. caller_key)) do
    local times = redis.call('HMGET', voice_key(id), 'last_used', 'created_at')
    if times[1] then
      local last, created = tonumber(times[1]), tonumber(times[2])
      if last >= used_since and (best == nil or last > best_last
          or (last == best_last and created > best_created)) then
        best, best_last, best_created = id, last, created
      end
    end
  end
  return best
end

-- Marks the clone used at `now` (never earlier than it was).
local function touch(id, now)
  local last = later(field(id, 'last_used'), now)
  redis.call('HSET', voice_key(id), 'last_used', last)
  redis.call('ZADD', P .. 'voices', last, id)
end

-- The longest history of conversations or calls an entry keeps (ports::MAX_HISTORY).
local MAX_HISTORY = 32
local INDEX_OF = { conversations = 'conversation:', calls = 'call:' }

-- Appends `value` to the JSON array in field `name` (once, when `once`), dropping the oldest
-- (and its index entry) beyond MAX_HISTORY; returns whether added.
local function append(id, name, value, once)
  local list = cjson.decode(field(id, name) or '[]')
  if once and contains(list, value) then return false end
  table.insert(list, value)
  while #list > MAX_HISTORY do
    local index = P .. INDEX_OF[name] .. table.remove(list, 1)
    if redis.call('GET', index) == id then redis.call('DEL', index) end
  end
  -- Never empty here, so cjson writes an array (it writes an empty table as an object).
  redis.call('HSET', voice_key(id), name, cjson.encode(list))
  return true
end

-- Drops the clone's index entries (not its hash).
local function unindex(id)
  local h = redis.call('HMGET', voice_key(id), 'caller_key', 'conversations', 'calls')
  redis.call('ZREM', P .. 'voices', id)
  if h[1] then redis.call('SREM', P .. 'caller:' .. h[1], id) end
  for _, conversation in ipairs(cjson.decode(h[2] or '[]')) do
    local index = P .. 'conversation:' .. conversation
    if redis.call('GET', index) == id then redis.call('DEL', index) end
  end
  for _, call in ipairs(cjson.decode(h[3] or '[]')) do
    local index = P .. 'call:' .. call
    if redis.call('GET', index) == id then redis.call('DEL', index) end
  end
end

-- Writes the clone's index entries from its hash.
local function index(id)
  local h = redis.call('HMGET', voice_key(id), 'caller_key', 'conversations', 'calls', 'last_used')
  redis.call('ZADD', P .. 'voices', h[4], id)
  if h[1] then redis.call('SADD', P .. 'caller:' .. h[1], id) end
  for _, conversation in ipairs(cjson.decode(h[2] or '[]')) do
    redis.call('SET', P .. 'conversation:' .. conversation, id)
  end
  for _, call in ipairs(cjson.decode(h[3] or '[]')) do
    redis.call('SET', P .. 'call:' .. call, id)
  end
end
