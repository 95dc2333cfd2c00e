"""The engine's Lua library, part 1: the call's time and constants, `emit` (the event log)
and the loaders of an agent and a handoff.
router/lua_lib/__init__.py puts the parts together in this order and says how."""

LUA = r"""
local NOW = tonumber(ARGV[1])
local ANY = '__ANY__'
local EPOCH = __EPOCH__
local SPAN = 1000000000000

local function fmt(n) return string.format('%.0f', n) end

local NOWS = fmt(NOW)

-- An event: appended to the stream `events` and, when it concerns an agent, to that agent's own.
-- agent_only: to the agent's stream alone (a customer's message: `events`, which every process
-- reads and the archive keeps, holds no conversation text).
local function emit(kind, hid, aid, oid, extra, agent_only)
  local args = {'type', kind, 'ts', NOWS}
  if hid then args[#args + 1] = 'handoff'; args[#args + 1] = hid end
  if aid then args[#args + 1] = 'agent'; args[#args + 1] = aid end
  if oid then args[#args + 1] = 'offer'; args[#args + 1] = oid end
  if extra then for i = 1, #extra do args[#args + 1] = extra[i] end end
  if not agent_only then
    redis.call('XADD', k_events(), 'MAXLEN', '~', CFGS.events_maxlen, '*', unpack(args))
  end
  if aid then
    redis.call('XADD', k_agent_events(aid), 'MAXLEN', '~', CFGS.agent_events_maxlen, '*',
      unpack(args))
  end
end

-- a.indexed: whether the agent is in the indexes now, when known (nil: unknown). At the start of
-- a script an agent is indexed exactly when available and under capacity; a script that loads
-- it before changing it may record that (see COMPLETE) so that index_agent skips taking out of
-- the indexes an agent that is in none.
local function load_agent(aid)
  local v = redis.call('HMGET', k_agent(aid), 'status', 'max_concurrent', 'offers', 'assigned',
    'idle_since', 'skills', 'languages', 'hb_until', 'staffed')
  if not v[1] then return nil end
  local a = {id = aid, status = v[1], maxc = tonumber(v[2]), offers = tonumber(v[3]),
    assigned = tonumber(v[4]), idle = tonumber(v[5]), skills = cjson.decode(v[6]),
    langs = cjson.decode(v[7]), hb_until = tonumber(v[8]), staffed = v[9] == '1'}
  a.load = a.offers + a.assigned
  a.speaks = {}
  for _, l in ipairs(a.langs) do a.speaks[l] = true end
  return a
end

-- h.due: the handoff's entry in deadline:due ('' when it has none), kept in field due_ms
local function load_handoff(hid)
  local v = redis.call('HMGET', k_handoff(hid), 'status', 'skills', 'language', 'min_level',
    'created_ms', 'deadline_ms', 'customer_id', 'prefer_agent', 'skip_agent', 'skip_until',
    'agent_id', 'offer_id', 'lang_relaxed', 'conversation_id', 'offered_to', 'due_ms')
  if not v[1] then return nil end
  return {id = hid, status = v[1], skills = cjson.decode(v[2]), language = v[3],
    min_level = tonumber(v[4]), created = tonumber(v[5]), deadline = tonumber(v[6]),
    customer = v[7] or '', prefer = v[8] or '', skip = v[9] or '',
    skip_until = tonumber(v[10] or '0'),
    agent = v[11] or '', offer = v[12] or '', lang_relaxed = v[13] == '1', conv = v[14] or '',
    offered_to = v[15] or '', due = v[16] or ''}
end
"""
