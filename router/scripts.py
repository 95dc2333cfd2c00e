"""The routing decisions, one atomic Lua script each.

Every script is called with KEYS[1] = key prefix (all keys derived from it, see router/keys.py),
ARGV[1] = now_ms, ARGV[2] = engine config JSON; the header of each body lists ARGV[3..] and the
reply. Replies are arrays whose first element is 'ok' (or 'created', 'existing'...) or an error
code that router/engine.py turns into a domain error.
"""

from __future__ import annotations

UPSERT_AGENT = r"""
-- ARGV[3] = agent id, ARGV[4] = display name, ARGV[5] = skills JSON {name: level},
-- ARGV[6] = languages JSON [..], ARGV[7] = max_concurrent, ARGV[8] = token hash (used on create)
-- touches: agent hash, skill/language indexes, queues (it may receive offers)
-- returns {'created'} or {'updated'}
local aid = ARGV[3]
local key = k_agent(aid)
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'id', aid, 'display_name', ARGV[4], 'skills', ARGV[5],
    'languages', ARGV[6], 'max_concurrent', ARGV[7], 'status', 'offline', 'offers', 0,
    'assigned', 0, 'misses', 0, 'idle_since', fmt(NOW), 'hb_until', 0, 'token_hash', ARGV[8],
    'created_ms', fmt(NOW))
  for s, _ in pairs(cjson.decode(ARGV[5])) do redis.call('SADD', k_skills(), s) end
  emit('agent_created', nil, aid)
  return {'created'}
end
local old = redis.call('HMGET', key, 'skills', 'languages')
redis.call('HSET', key, 'display_name', ARGV[4], 'skills', ARGV[5], 'languages', ARGV[6],
  'max_concurrent', ARGV[7], 'updated_ms', fmt(NOW))
index_agent(load_agent(aid), cjson.decode(old[1]), cjson.decode(old[2]))
emit('agent_updated', nil, aid)
try_assign_agent(aid, nil)
return {'updated'}
"""

PRESENCE = r"""
-- ARGV[3] = agent id, ARGV[4] = 'available' | 'away' | 'offline'; also the heartbeat
-- touches: agent hash, heartbeat deadlines, indexes, its offers and handoffs, queues
-- returns {'ok', status} or {'no_agent'}
local aid, status = ARGV[3], ARGV[4]
local a = load_agent(aid)
if not a then return {'no_agent'} end
if status == 'offline' then
  if a.status ~= 'offline' then go_offline(aid, 'requested') end
  return {'ok', 'offline'}
end
local hb = NOW + CFG.hb_ms
redis.call('HSET', k_agent(aid), 'hb_until', fmt(hb))
redis.call('ZADD', k_heartbeats(), fmt(hb), aid)
if status == 'available' then
  if a.status ~= 'available' then
    redis.call('HSET', k_agent(aid), 'status', 'available', 'misses', 0)
    emit('presence', nil, aid, nil, {'status', 'available'})
  end
  if try_assign_agent(aid, nil) == 0 then index_agent(load_agent(aid)) end
  return {'ok', 'available'}
end
local back = {}
if a.status ~= 'away' then
  redis.call('HSET', k_agent(aid), 'status', 'away')
  emit('presence', nil, aid, nil, {'status', 'away', 'reason', 'requested'})
  back = rescind_offers(aid)
end
index_agent(load_agent(aid))
for _, hid in ipairs(back) do try_assign_handoff(hid, aid) end
return {'ok', 'away'}
"""

CREATE_HANDOFF = r"""
-- ARGV[3] = conversation id, ARGV[4] = SLA ms, ARGV[5] = JSON array of the handoff's field/value
-- pairs, all strings (channel, language, intent, urgency, skills JSON, min_level, customer_id,
-- customer_tier, summary, transcript JSON) — one argument, cheaper to send than twenty
-- touches: conversation key, handoff hash, queue, indexes, agent (offer)
-- returns {'created' | 'existing', handoff id, status, queue rank or -1}
local cid = ARGV[3]
local existing = redis.call('GET', k_conv(cid))
if existing then
  local st = redis.call('HGET', k_handoff(existing), 'status')
  if st == 'queued' or st == 'offered' or st == 'assigned' then
    local h = load_handoff(existing)
    local rank = -1
    if st == 'queued' then
      rank = redis.call('ZRANK', hqueue(h), existing) or -1
    end
    return {'existing', existing, st, rank}
  end
end
local hid = string.format('h%012d', redis.call('INCR', k_seq_handoff()))
local fields = cjson.decode(ARGV[5])
local f = {}
for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
local deadline = NOW + tonumber(ARGV[4])
redis.call('HSET', k_handoff(hid), 'id', hid, 'status', 'queued', 'conversation_id', cid,
  'created_ms', fmt(NOW), 'deadline_ms', fmt(deadline), unpack(fields))
redis.call('SET', k_conv(cid), hid)
redis.call('HINCRBY', k_stats(), 'created', 1)
-- the handoff as load_handoff would read it back, without reading it back
local h = {id = hid, status = 'queued', skills = cjson.decode(f.skills), language = f.language,
  min_level = tonumber(f.min_level), created = NOW, deadline = deadline,
  customer = f.customer_id or '', prefer = '', skip = '', skip_until = 0, agent = '', offer = '',
  lang_relaxed = false, conv = cid, offered_to = ''}
emit('created', hid)
if try_assign_handoff(hid, nil, true, h) then return {'created', hid, 'offered', -1} end
enqueue(h)
return {'created', hid, 'queued', redis.call('ZRANK', hqueue(h), hid) or -1}
"""

ACCEPT = r"""
-- ARGV[3] = offer id, ARGV[4] = agent id
-- touches: offer, handoff, agent, agent handoffs, stats
-- returns {'ok', handoff id} | {'no_offer'} | {'forbidden'} | {'offer_closed', status}
local oid, aid = ARGV[3], ARGV[4]
local hid, refused = pending_offer(oid, aid)
if not hid then return refused end
close_offer(oid, 'accepted')
redis.call('HINCRBY', k_agent(aid), 'assigned', 1)
redis.call('HSET', k_agent(aid), 'misses', 0)
redis.call('SADD', k_agent_handoffs(aid), hid)
redis.call('HSET', k_handoff(hid), 'status', 'assigned', 'agent_id', aid, 'offer_id', '',
  'offered_to', '', 'assigned_ms', fmt(NOW))
if redis.call('HSETNX', k_handoff(hid), 'answered_ms', fmt(NOW)) == 1 then
  redis.call('HINCRBY', k_stats(), 'answered', 1)
  if NOW <= tonumber(redis.call('HGET', k_handoff(hid), 'deadline_ms')) then
    redis.call('HINCRBY', k_stats(), 'answered_in_sla', 1)
  end
end
redis.call('HINCRBY', k_stats(), 'accepts', 1)
emit('accepted', hid, aid, oid)
return {'ok', hid}
"""

REJECT = r"""
-- ARGV[3] = offer id, ARGV[4] = agent id
-- touches: offer, handoff, queue, agent, indexes, stats
-- returns {'ok', handoff id} | {'no_offer'} | {'forbidden'} | {'offer_closed', status}
local oid, aid = ARGV[3], ARGV[4]
local hid, refused = pending_offer(oid, aid)
if not hid then return refused end
close_offer(oid, 'rejected')
redis.call('HINCRBY', k_stats(), 'rejects', 1)
emit('offer_rejected', hid, aid, oid)
requeue(hid, aid, false)
index_agent(load_agent(aid))
try_assign_handoff(hid, aid)
try_assign_agent(aid, hid)
return {'ok', hid}
"""

COMPLETE = r"""
-- ARGV[3] = handoff id, ARGV[4] = agent id, ARGV[5] = disposition
-- touches: handoff, agent, agent handoffs, conversation, customer's last agent, queues
-- returns {'ok', offer ids made to the agent from the queues...} | {'no_handoff'} |
-- {'forbidden'} | {'wrong_state', status}
local hid, aid = ARGV[3], ARGV[4]
local h = load_handoff(hid)
if not h then return {'no_handoff'} end
if h.agent ~= aid and h.offered_to ~= aid then return {'forbidden'} end
if h.status ~= 'assigned' then return {'wrong_state', h.status} end
redis.call('SREM', k_agent_handoffs(aid), hid)
redis.call('HINCRBY', k_agent(aid), 'assigned', -1)
redis.call('HSET', k_handoff(hid), 'status', 'completed', 'disposition', ARGV[5],
  'closed_ms', fmt(NOW))
end_conversation(h)
if h.customer ~= '' and CFG.sticky_ms > 0 then
  redis.call('SET', k_customer_last(h.customer), aid .. '|' .. fmt(NOW + CFG.sticky_ms),
    'PX', CFG.sticky_ms)
end
redis.call('HINCRBY', k_stats(), 'completed', 1)
emit('completed', hid, aid)
-- the freed capacity goes to the queue first; the agent is re-indexed by the offer, or here
local made = {}
if try_assign_agent(aid, nil, made) == 0 then index_agent(load_agent(aid)) end
return {'ok', unpack(made)}
"""

TRANSFER = r"""
-- ARGV[3] = handoff id, ARGV[4] = agent id, ARGV[5] = new skills JSON or '',
-- ARGV[6] = target agent id or ''
-- touches: handoff, both agents, queues, indexes
-- returns {'ok', status} | {'no_handoff'} | {'no_agent'} | {'forbidden'} | {'wrong_state', status}
local hid, aid, skills, target = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local h = load_handoff(hid)
if not h then return {'no_handoff'} end
if h.agent ~= aid and h.offered_to ~= aid then return {'forbidden'} end
if h.status ~= 'assigned' then return {'wrong_state', h.status} end
if target ~= '' and redis.call('EXISTS', k_agent(target)) == 0 then return {'no_agent'} end
redis.call('SREM', k_agent_handoffs(aid), hid)
redis.call('HINCRBY', k_agent(aid), 'assigned', -1)
if skills ~= '' then redis.call('HSET', k_handoff(hid), 'skills', skills) end
redis.call('HSET', k_handoff(hid), 'prefer_agent', target)
emit('transferred', hid, aid, nil, {'to_agent', target})
requeue(hid, aid, false)
index_agent(load_agent(aid))
try_assign_handoff(hid, aid)
try_assign_agent(aid, hid)
return {'ok', redis.call('HGET', k_handoff(hid), 'status')}
"""

ABANDON = r"""
-- ARGV[3] = handoff id
-- touches: handoff, queue, its offer and agent, conversation
-- returns {'ok'} | {'no_handoff'} | {'wrong_state', status}
local hid = ARGV[3]
local h = load_handoff(hid)
if not h then return {'no_handoff'} end
if h.status == 'abandoned' then return {'ok'} end
if h.status == 'completed' then return {'wrong_state', 'completed'} end
local freed, holder = nil, nil
if h.status == 'queued' then
  dequeue(h)
elseif h.status == 'offered' then
  local o = close_offer(h.offer, 'rescinded')
  if o then emit('offer_rescinded', hid, o.aid, h.offer); freed = o.aid end
elseif h.status == 'assigned' then
  redis.call('SREM', k_agent_handoffs(h.agent), hid)
  redis.call('HINCRBY', k_agent(h.agent), 'assigned', -1)
  freed, holder = h.agent, h.agent
end
redis.call('HSET', k_handoff(hid), 'status', 'abandoned', 'closed_ms', fmt(NOW))
end_conversation(h)
redis.call('HINCRBY', k_stats(), 'abandoned', 1)
emit('abandoned', hid, holder)
if freed and try_assign_agent(freed, nil) == 0 then index_agent(load_agent(freed)) end
return {'ok'}
"""

PRIORITY = r"""
-- ARGV[3] = handoff id, ARGV[4] = urgency, ARGV[5] = SLA ms of that urgency
-- touches: handoff, its queue. Only raises urgency: the deadline never moves later.
-- returns {'ok', deadline_ms} | {'no_handoff'} | {'wrong_state', status}
local hid = ARGV[3]
local h = load_handoff(hid)
if not h then return {'no_handoff'} end
if h.status == 'completed' or h.status == 'abandoned' then return {'wrong_state', h.status} end
local d = h.created + tonumber(ARGV[5])
if d < h.deadline then
  redis.call('HSET', k_handoff(hid), 'urgency', ARGV[4], 'deadline_ms', fmt(d))
  if h.status == 'queued' then
    redis.call('ZADD', hqueue(h), 'XX', fmt(d), hid)
  end
  emit('priority', hid, nil, nil, {'urgency', ARGV[4]})
  return {'ok', fmt(d)}
end
return {'ok', fmt(h.deadline)}
"""

TICK = r"""
-- ARGV[3] = batch size, ARGV[4] = '1' to sweep queue heads
-- touches: offer, heartbeat and due deadlines; everything an expiry, a lapse or a widening moves.
-- Safe to run from every router process at once: each due item is taken by one run.
-- returns {offers expired, agents gone offline, handoffs re-evaluated, sweep offers}
local batch = tonumber(ARGV[3])
local n1, n2, n3, n4 = 0, 0, 0, 0
local function due(key)
  return redis.call('ZRANGEBYSCORE', key, '-inf', fmt(NOW), 'LIMIT', 0, batch)
end
for _, oid in ipairs(due(k_offer_deadlines())) do
  expire_offer(oid)
  n1 = n1 + 1
end
for _, aid in ipairs(due(k_heartbeats())) do
  go_offline(aid, 'heartbeat')
  n2 = n2 + 1
end
for _, hid in ipairs(due(k_due())) do
  redis.call('ZREM', k_due(), hid)
  local h = load_handoff(hid)
  if h and h.status == 'queued' then
    if CFG.widen_lang_ms > 0 and not h.lang_relaxed and NOW - h.created >= CFG.widen_lang_ms then
      dequeue(h)
      h.lang_relaxed = true
      redis.call('HSET', k_handoff(hid), 'lang_relaxed', '1')
      enqueue(h)
    else
      schedule(h)
    end
    try_assign_handoff(hid, nil)
    n3 = n3 + 1
  end
end
if ARGV[4] == '1' and CFG.sweep > 0 then
  for _, name in ipairs(redis.call('SMEMBERS', k_queues())) do
    local sig, l = split_queue(name)
    local items = redis.call('ZRANGE', k_queue(sig, l), 0, CFG.sweep - 1)
    if #items == 0 then forget_queue(name) end
    for _, hid in ipairs(items) do
      if try_assign_handoff(hid, nil) then n4 = n4 + 1 end
    end
  end
end
return {n1, n2, n3, n4}
"""

NOOP = r"""
-- the trivial script the benchmark uses as its ceiling; returns 1
return 1
"""

ALL: dict[str, str] = {
    "upsert_agent": UPSERT_AGENT,
    "presence": PRESENCE,
    "create_handoff": CREATE_HANDOFF,
    "accept": ACCEPT,
    "reject": REJECT,
    "complete": COMPLETE,
    "transfer": TRANSFER,
    "abandon": ABANDON,
    "priority": PRIORITY,
    "tick": TICK,
}
