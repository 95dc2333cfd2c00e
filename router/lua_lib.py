"""Lua shared by every routing script: key names, loaders, eligibility, offers, queues.

Each script in router/scripts.py is `prelude() + body` and is called with
KEYS[1] = key prefix (every key is derived from it by the k_* functions generated from
router/keys.py); ARGV[1] = now in ms; ARGV[2] = engine config as JSON (Settings.engine_config);
ARGV[3..] = the script's own arguments. The rules mirror router/selection.py.
"""

from __future__ import annotations

from functools import cache

from router.keys import ANY_LANGUAGE, lua_key_functions
from router.selection import EPOCH_MS

_LIB = r"""
local NOW = tonumber(ARGV[1])
local CFG = cjson.decode(ARGV[2])
local ANY = '__ANY__'
local EPOCH = __EPOCH__
local SPAN = 1000000000000

local function fmt(n) return string.format('%.0f', n) end

local function emit(kind, hid, aid, oid, extra)
  local args = {'type', kind, 'ts', fmt(NOW)}
  if hid then args[#args + 1] = 'handoff'; args[#args + 1] = hid end
  if aid then args[#args + 1] = 'agent'; args[#args + 1] = aid end
  if oid then args[#args + 1] = 'offer'; args[#args + 1] = oid end
  if extra then for i = 1, #extra do args[#args + 1] = extra[i] end end
  redis.call('XADD', k_events(), 'MAXLEN', '~', CFG.events_maxlen, '*', unpack(args))
  if aid then
    redis.call('XADD', k_agent_events(aid), 'MAXLEN', '~', CFG.agent_events_maxlen, '*',
      unpack(args))
  end
end

local function load_agent(aid)
  local v = redis.call('HMGET', k_agent(aid), 'status', 'max_concurrent', 'offers', 'assigned',
    'idle_since', 'skills', 'languages', 'hb_until')
  if not v[1] then return nil end
  local a = {id = aid, status = v[1], maxc = tonumber(v[2]), offers = tonumber(v[3]),
    assigned = tonumber(v[4]), idle = tonumber(v[5]), skills = cjson.decode(v[6]),
    langs = cjson.decode(v[7]), hb_until = tonumber(v[8])}
  a.load = a.offers + a.assigned
  a.speaks = {}
  for _, l in ipairs(a.langs) do a.speaks[l] = true end
  return a
end

local function load_handoff(hid)
  local v = redis.call('HMGET', k_handoff(hid), 'status', 'skills', 'language', 'min_level',
    'created_ms', 'deadline_ms', 'customer_id', 'prefer_agent', 'skip_agent', 'skip_until',
    'agent_id', 'offer_id', 'lang_relaxed', 'conversation_id', 'offered_to')
  if not v[1] then return nil end
  return {id = hid, status = v[1], skills = cjson.decode(v[2]), language = v[3],
    min_level = tonumber(v[4]), created = tonumber(v[5]), deadline = tonumber(v[6]),
    customer = v[7] or '', prefer = v[8] or '', skip = v[9] or '',
    skip_until = tonumber(v[10] or '0'),
    agent = v[11] or '', offer = v[12] or '', lang_relaxed = v[13] == '1', conv = v[14] or '',
    offered_to = v[15] or ''}
end

local function agent_score(level, a)
  local ratio = math.floor(a.load * 1000 / a.maxc)
  local idle = a.idle - EPOCH
  if idle < 0 then idle = 0 elseif idle > SPAN - 1 then idle = SPAN - 1 end
  return ((5 - level) * 1001 + ratio) * SPAN + idle
end

-- Put the agent in (or take it out of) the index of every (skill, language) it holds.
-- old_skills / old_langs: its previous definition, removed first (after an update).
local function index_agent(a, old_skills, old_langs)
  if old_skills then
    for s, _ in pairs(old_skills) do
      redis.call('ZREM', k_idx(s, ANY), a.id)
      for _, l in ipairs(old_langs) do redis.call('ZREM', k_idx(s, l), a.id) end
    end
  end
  local on = a.status == 'available' and a.load < a.maxc
  for s, lv in pairs(a.skills) do
    if old_skills then redis.call('SADD', k_skills(), s) end
    if on then
      local sc = fmt(agent_score(lv, a))
      redis.call('ZADD', k_idx(s, ANY), sc, a.id)
      for _, l in ipairs(a.langs) do redis.call('ZADD', k_idx(s, l), sc, a.id) end
    else
      redis.call('ZREM', k_idx(s, ANY), a.id)
      for _, l in ipairs(a.langs) do redis.call('ZREM', k_idx(s, l), a.id) end
    end
  end
end

local function eff_level(h)
  if CFG.widen_ms > 0 then
    local lv = h.min_level - math.floor((NOW - h.created) / CFG.widen_ms)
    if lv < 1 then lv = 1 end
    return lv
  end
  return h.min_level
end

local function eligible(a, h, exclude)
  if a.status ~= 'available' or a.load >= a.maxc or a.hb_until <= NOW then return false end
  if a.id == exclude or (a.id == h.skip and NOW < h.skip_until) then return false end
  local lv = eff_level(h)
  for _, s in ipairs(h.skills) do
    local have = a.skills[s]
    if (not have) or have < lv then return false end
  end
  return h.lang_relaxed or a.speaks[h.language] == true
end

local function qlang(h) if h.lang_relaxed then return ANY end return h.language end
local function qsig(h) return table.concat(h.skills, ',') end
local function hqueue(h) return k_queue(qsig(h), qlang(h)) end

-- "billing,roaming|zh" -> "billing,roaming", "zh", "billing"
local function split_queue(name)
  local sep = string.find(name, '|', 1, true)
  local sig = string.sub(name, 1, sep - 1)
  local comma = string.find(sig, ',', 1, true)
  local first = sig
  if comma then first = string.sub(sig, 1, comma - 1) end
  return sig, string.sub(name, sep + 1), first
end

local function forget_queue(name)
  local _, _, first = split_queue(name)
  redis.call('SREM', k_queues(), name)
  redis.call('SREM', k_skill_queues(first), name)
end

-- Next time the handoff must be looked at again: a widening step or the end of a re-offer delay.
local function schedule(h)
  local t = nil
  if CFG.widen_ms > 0 and eff_level(h) > 1 then
    t = h.created + (math.floor((NOW - h.created) / CFG.widen_ms) + 1) * CFG.widen_ms
  end
  if CFG.widen_lang_ms > 0 and not h.lang_relaxed then
    local tl = h.created + CFG.widen_lang_ms
    if not t or tl < t then t = tl end
  end
  if h.skip ~= '' and h.skip_until > NOW and (not t or h.skip_until < t) then t = h.skip_until end
  if t then redis.call('ZADD', k_due(), fmt(t), h.id) else redis.call('ZREM', k_due(), h.id) end
end

local function enqueue(h)
  local s, l = qsig(h), qlang(h)
  redis.call('ZADD', k_queue(s, l), fmt(h.deadline), h.id)
  redis.call('ZADD', k_queue_age(s, l), fmt(h.created), h.id)
  redis.call('SADD', k_queues(), s .. '|' .. l)
  redis.call('SADD', k_skill_queues(h.skills[1]), s .. '|' .. l)
  redis.call('SADD', k_skills(), h.skills[1])
  redis.call('HSET', k_handoff(h.id), 'status', 'queued', 'offer_id', '', 'offered_to', '',
    'agent_id', '')
  h.status = 'queued'
  schedule(h)
end

local function dequeue(h)
  local s, l = qsig(h), qlang(h)
  redis.call('ZREM', k_queue(s, l), h.id)
  redis.call('ZREM', k_queue_age(s, l), h.id)
end

-- fresh: the handoff was never queued (just created), nothing to take out of a queue
local function make_offer(h, a, fresh)
  local oid = 'o' .. redis.call('INCR', k_seq_offer())
  local exp = NOW + CFG.offer_ms
  if not fresh then
    dequeue(h)
    redis.call('ZREM', k_due(), h.id)
  end
  redis.call('HSET', k_offer(oid), 'id', oid, 'handoff_id', h.id, 'agent_id', a.id,
    'created_ms', fmt(NOW), 'expires_ms', fmt(exp), 'status', 'pending')
  redis.call('ZADD', k_offer_deadlines(), fmt(exp), oid)
  redis.call('SADD', k_agent_offers(a.id), oid)
  redis.call('HSET', k_handoff(h.id), 'status', 'offered', 'offer_id', oid, 'offered_to', a.id,
    'prefer_agent', '')
  a.offers = a.offers + 1
  a.load = a.load + 1
  a.idle = NOW
  redis.call('HSET', k_agent(a.id), 'offers', a.offers, 'idle_since', fmt(NOW))
  index_agent(a)
  redis.call('HINCRBY', k_stats(), 'offers', 1)
  emit('offered', h.id, a.id, oid, {'expires_ms', fmt(exp)})
  return oid
end

-- Close a pending offer; returns {hid, aid} or nil when it was not pending.
local function close_offer(oid, status)
  local v = redis.call('HMGET', k_offer(oid), 'handoff_id', 'agent_id', 'status')
  redis.call('ZREM', k_offer_deadlines(), oid)
  if not v[1] or v[3] ~= 'pending' then return nil end
  redis.call('HSET', k_offer(oid), 'status', status, 'closed_ms', fmt(NOW))
  redis.call('EXPIRE', k_offer(oid), CFG.retention_s)
  redis.call('SREM', k_agent_offers(v[2]), oid)
  redis.call('HINCRBY', k_agent(v[2]), 'offers', -1)
  return {hid = v[1], aid = v[2]}
end

-- Put an offered or assigned handoff back in its queue at its original age.
local function requeue(hid, skip_aid, rescued)
  local h = load_handoff(hid)
  if not h or (h.status ~= 'offered' and h.status ~= 'assigned') then return nil end
  if skip_aid then
    h.skip = skip_aid
    h.skip_until = NOW + CFG.retry_ms
    redis.call('HSET', k_handoff(hid), 'skip_agent', skip_aid, 'skip_until', fmt(h.skip_until))
  end
  if rescued then
    redis.call('HSET', k_handoff(hid), 'rescued', '1')
    redis.call('HINCRBY', k_stats(), 'rescued', 1)
  end
  enqueue(h)
  emit('requeued', hid)
  return h
end

-- Members of a sorted set in order, fetched in growing chunks (8, 16, ...) up to CFG.scan
-- members, until visit(member, score) returns true. Returns true when it did.
local function scan(key, min, max, visit)
  local offset, step = 0, 8
  while offset < CFG.scan do
    local n = math.min(step, CFG.scan - offset)
    local items = redis.call('ZRANGEBYSCORE', key, min, max, 'WITHSCORES', 'LIMIT', offset, n)
    for i = 1, #items, 2 do
      if visit(items[i], tonumber(items[i + 1])) then return true end
    end
    if #items < 2 * n then return false end
    offset, step = offset + n, step * 2
  end
  return false
end

-- h: the handoff already loaded (a fresh one, just created), else nil: loaded here
local function try_assign_handoff(hid, exclude, fresh, h)
  h = h or load_handoff(hid)
  if not h or h.status ~= 'queued' then return nil end
  local firsts = {}
  if h.prefer ~= '' then firsts[#firsts + 1] = h.prefer end
  if h.customer ~= '' and CFG.sticky_ms > 0 then
    local last = redis.call('GET', k_customer_last(h.customer))
    if last then
      local sep = string.find(last, '|', 1, true)
      if sep and tonumber(string.sub(last, sep + 1)) > NOW then
        firsts[#firsts + 1] = string.sub(last, 1, sep - 1)
      end
    end
  end
  for _, aid in ipairs(firsts) do
    local a = load_agent(aid)
    if a and eligible(a, h, exclude) then return make_offer(h, a, fresh) end
  end
  local bound = '(' .. fmt((6 - eff_level(h)) * 1001 * SPAN)
  local chosen = nil
  scan(k_idx(h.skills[1], qlang(h)), '-inf', bound, function(aid)
    local a = load_agent(aid)
    if a and eligible(a, h, exclude) then chosen = a; return true end
    return false
  end)
  if chosen then return make_offer(h, chosen, fresh) end
  return nil
end

-- Offer queued handoffs to an agent with free capacity, most urgent first, until it is full.
-- Returns the number of offers made; each offer re-indexed the agent (make_offer), so a caller
-- that changed the agent need index it itself only when this returns 0. made: optional table
-- that receives the offer ids.
local function try_assign_agent(aid, exclude_hid, made)
  local n = 0
  local a = load_agent(aid)  -- make_offer keeps it current (offers, load, idle) in the loop
  while n < 100 do
    if not a or a.status ~= 'available' or a.load >= a.maxc or a.hb_until <= NOW then return n end
    local best, bscore = nil, nil
    -- the queues this agent can serve: every skill held, its language (or any)
    for s, _ in pairs(a.skills) do
      for _, name in ipairs(redis.call('SMEMBERS', k_skill_queues(s))) do
        local sig, l = split_queue(name)
        local fits = l == ANY or a.speaks[l] == true
        if fits then
          for skill in string.gmatch(sig, '[^,]+') do
            if not a.skills[skill] then fits = false; break end
          end
        end
        if fits then
          local seen = false
          scan(k_queue(sig, l), '-inf', '+inf', function(hid, sc)
            seen = true
            if bscore and (sc > bscore or (sc == bscore and hid > best.id)) then return true end
            if hid ~= exclude_hid then
              local h = load_handoff(hid)
              if h and eligible(a, h, nil) then best, bscore = h, sc; return true end
            end
            return false
          end)
          if not seen then forget_queue(name) end
        end
      end
    end
    if not best then return n end
    local oid = make_offer(best, a)
    if made then made[#made + 1] = oid end
    n = n + 1
  end
  return n
end

local function expire_offer(oid)
  local o = close_offer(oid, 'expired')
  if not o then return end
  redis.call('HINCRBY', k_stats(), 'timeouts', 1)
  emit('offer_expired', o.hid, o.aid, oid)
  local misses = redis.call('HINCRBY', k_agent(o.aid), 'misses', 1)
  local h = requeue(o.hid, o.aid, false)
  local a = load_agent(o.aid)
  if CFG.max_misses > 0 and misses >= CFG.max_misses and a.status == 'available' then
    redis.call('HSET', k_agent(o.aid), 'status', 'away')
    a.status = 'away'
    emit('presence', nil, o.aid, nil, {'status', 'away', 'reason', 'missed_offers'})
  end
  index_agent(a)
  if h then try_assign_handoff(o.hid, o.aid) end
  try_assign_agent(o.aid, o.hid)
end

-- The handoff id of offer `oid` when it is pending for agent `aid` (expiring it if its time is
-- up); else nil and the script's refusal: {'no_offer'} | {'forbidden'} | {'offer_closed', status}
local function pending_offer(oid, aid)
  local v = redis.call('HMGET', k_offer(oid), 'handoff_id', 'agent_id', 'status', 'expires_ms')
  if not v[1] then return nil, {'no_offer'} end
  if v[2] ~= aid then return nil, {'forbidden'} end
  if v[3] ~= 'pending' then return nil, {'offer_closed', v[3]} end
  if NOW >= tonumber(v[4]) then expire_offer(oid); return nil, {'offer_closed', 'expired'} end
  return v[1], nil
end

-- Rescind every pending offer of an agent; returns the handoff ids put back in their queues.
local function rescind_offers(aid)
  local back = {}
  for _, oid in ipairs(redis.call('SMEMBERS', k_agent_offers(aid))) do
    local o = close_offer(oid, 'rescinded')
    if o then
      emit('offer_rescinded', o.hid, aid, oid)
      if requeue(o.hid, nil, false) then back[#back + 1] = o.hid end
    end
  end
  return back
end

-- The agent goes offline: offers rescinded, assigned handoffs back in queue marked rescued.
local function go_offline(aid, reason)
  local back = rescind_offers(aid)
  for _, hid in ipairs(redis.call('SMEMBERS', k_agent_handoffs(aid))) do
    redis.call('SREM', k_agent_handoffs(aid), hid)
    redis.call('HINCRBY', k_agent(aid), 'assigned', -1)
    emit('rescued', hid, aid)
    if requeue(hid, nil, true) then back[#back + 1] = hid end
  end
  redis.call('HSET', k_agent(aid), 'status', 'offline', 'hb_until', '0')
  redis.call('ZREM', k_heartbeats(), aid)
  emit('presence', nil, aid, nil, {'status', 'offline', 'reason', reason})
  local a = load_agent(aid)
  if a then index_agent(a) end
  for _, hid in ipairs(back) do try_assign_handoff(hid, aid) end
end

local function end_conversation(h)
  redis.call('ZREM', k_due(), h.id)
  redis.call('EXPIRE', k_handoff(h.id), CFG.retention_s)
  if h.conv ~= '' and redis.call('GET', k_conv(h.conv)) == h.id then
    redis.call('DEL', k_conv(h.conv))
  end
end
"""


@cache
def prelude() -> str:
    lib = _LIB.replace("__ANY__", ANY_LANGUAGE).replace("__EPOCH__", str(EPOCH_MS))
    return "local P = KEYS[1]\n" + lua_key_functions() + "\n" + lib
