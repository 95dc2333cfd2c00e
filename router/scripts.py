"""The routing decisions, one atomic Lua script each.

Every script is called with KEYS[1] = key prefix (all keys derived from it, see router/keys.py),
ARGV[1] = now_ms (router/lua_lib/ writes the engine configuration into the source); the
header of each body lists ARGV[2..] and the reply. Replies are arrays whose first element is 'ok'
(or 'created', 'existing'...) or an error code that router/engine.py turns into a domain error.
"""

from __future__ import annotations

UPSERT_AGENT = r"""
-- ARGV[2] = agent id, ARGV[3] = display name, ARGV[4] = skills JSON {name: level},
-- ARGV[5] = languages JSON [..], ARGV[6] = max_concurrent, ARGV[7] = token hash (used on create)
-- touches: agent hash, the set of agents, skill/language indexes, staffing, queues (it may
-- receive offers), its event stream (a new agent's starts empty)
-- returns {'created'} or {'updated'}
local aid = ARGV[2]
local key = k_agent(aid)
redis.call('SADD', k_agents(), aid)
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'id', aid, 'display_name', ARGV[3], 'skills', ARGV[4],
    'languages', ARGV[5], 'max_concurrent', ARGV[6], 'status', 'offline', 'offers', 0,
    'assigned', 0, 'misses', 0, 'idle_since', NOWS, 'hb_until', 0, 'token_hash', ARGV[7],
    'created_ms', NOWS)
  for s, _ in pairs(cjson.decode(ARGV[4])) do redis.call('SADD', k_skills(), s) end
  redis.call('DEL', k_agent_events(aid))  -- left by a deleted agent of that id: start afresh
  emit('agent_created', nil, aid, nil, {'display_name', ARGV[3], 'skills', ARGV[4]})
  return {'created'}
end
local old = redis.call('HMGET', key, 'skills', 'languages', 'max_concurrent')
redis.call('HSET', key, 'display_name', ARGV[3], 'skills', ARGV[4], 'languages', ARGV[5],
  'max_concurrent', ARGV[6], 'updated_ms', NOWS)
local before = {skills = cjson.decode(old[1]), langs = cjson.decode(old[2]),
  maxc = tonumber(old[3])}
local a = load_agent(aid)
index_agent(a, before.skills, before.langs)
staff_agent(a, before)
emit('agent_updated', nil, aid, nil, {'display_name', ARGV[3], 'skills', ARGV[4]})
try_assign_agent(load_agent(aid), nil)
return {'updated'}
"""

PRESENCE = r"""
-- ARGV[2] = agent id, ARGV[3] = 'available' | 'away' | 'offline'; also the heartbeat
-- touches: agent hash, heartbeat deadlines, indexes, staffing, its offers and handoffs, queues
-- returns {'ok', status} or {'no_agent'}
local aid, status = ARGV[2], ARGV[3]
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
  a.status = 'available'
  staff_agent(a)  -- on every heartbeat: also counts an agent available before staffing existed
  if try_assign_agent(load_agent(aid), nil) == 0 then index_agent(load_agent(aid)) end
  return {'ok', 'available'}
end
local back = {}
if a.status ~= 'away' then
  redis.call('HSET', k_agent(aid), 'status', 'away')
  emit('presence', nil, aid, nil, {'status', 'away', 'reason', 'requested'})
  back = rescind_offers(aid)
end
a.status = 'away'
staff_agent(a)
index_agent(load_agent(aid))
for _, hid in ipairs(back) do try_assign_handoff(hid, aid) end
return {'ok', 'away'}
"""

DELETE_AGENT = r"""
-- ARGV[2] = agent id
-- touches: agent hash, the set of agents, its offers and handoffs, the queues they return to,
-- heartbeat deadlines, indexes, staffing, its event stream, the token revocation channel
-- returns {'ok', n, the n handoff ids put back in their queues, then the agent's hash as it
-- was left (offline), field, value, ..., without its token hash} | {'no_agent'}
local aid = ARGV[2]
local a = load_agent(aid)
if not a then return {'no_agent'} end
local back = {}
-- the offline path of a heartbeat lapse: offers rescinded, handoffs back at their original age
if a.status ~= 'offline' or a.load > 0 then back = go_offline(aid, 'deleted') end
a = load_agent(aid)
index_agent(a)  -- offline: out of every index and of the staffing counts
staff_agent(a)
redis.call('ZREM', k_heartbeats(), aid)
local reply = {'ok', #back, unpack(back)}
local fields = redis.call('HGETALL', k_agent(aid))
for i = 1, #fields, 2 do
  if fields[i] ~= 'token_hash' then
    reply[#reply + 1] = fields[i]
    reply[#reply + 1] = fields[i + 1]
  end
end
redis.call('DEL', k_agent(aid), k_agent_offers(aid), k_agent_handoffs(aid))
redis.call('SREM', k_agents(), aid)
emit('agent_deleted', nil, aid, nil, {'returned', #back})
-- its stream outlives it a minute: its live readers get the event above, then close
redis.call('PEXPIRE', k_agent_events(aid), 60000)
redis.call('PUBLISH', k_token_revocations(), aid)
return reply
"""

ROTATE_TOKEN = r"""
-- ARGV[2] = agent id, ARGV[3] = the new token's hash
-- touches: agent hash (its token hash alone), events, the token revocation channel
-- returns {'ok'} | {'no_agent'}
local aid = ARGV[2]
if redis.call('EXISTS', k_agent(aid)) == 0 then return {'no_agent'} end
redis.call('HSET', k_agent(aid), 'token_hash', ARGV[3], 'token_rotated_ms', NOWS)
emit('token_rotated', nil, aid)
redis.call('PUBLISH', k_token_revocations(), aid)
return {'ok'}
"""

CREATE_HANDOFF = r"""
-- ARGV[2] = conversation id, ARGV[3] = SLA ms, ARGV[4] = JSON array of the handoff's field/value
-- pairs, all strings (channel, language, intent, urgency, skills JSON, min_level, customer_id,
-- customer_tier, summary, transcript JSON) — one argument, cheaper to send than twenty
-- touches: conversation key, handoff hash, queue, indexes, agent (offer)
-- returns {'created' | 'existing', handoff id, status, queue rank or -1}, and when queued the
-- four values of wait_inputs (router/wait.py)
local cid = ARGV[2]
local existing = redis.call('GET', k_conv(cid))
if existing then
  local st = redis.call('HGET', k_handoff(existing), 'status')
  if st == 'queued' or st == 'offered' or st == 'assigned' then
    if st == 'queued' then
      local h = load_handoff(existing)
      local rank = redis.call('ZRANK', hqueue(h), existing)
      if rank then return {'existing', existing, st, rank, unpack(wait_inputs(h))} end
    end
    return {'existing', existing, st, -1}
  end
end
local hid = string.format('h%012d', redis.call('INCR', k_seq_handoff()))
local fields = cjson.decode(ARGV[4])
local f = {}
for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
local deadline = NOW + tonumber(ARGV[3])
redis.call('SET', k_conv(cid), hid)
-- (the count of handoffs created is seq:handoff itself)
-- the handoff as load_handoff would read it back; its hash is written once, with its state
local h = {id = hid, status = 'queued', skills = cjson.decode(f.skills), language = f.language,
  min_level = tonumber(f.min_level), created = NOW, deadline = deadline,
  customer = f.customer_id or '', prefer = '', skip = '', skip_until = 0, agent = '', offer = '',
  lang_relaxed = false, conv = cid, offered_to = '', due = ''}
emit('created', hid, nil, nil, {'conversation', cid, 'customer', f.customer_id or '',
  'channel', f.channel or '', 'skills', f.skills, 'urgency', f.urgency or '',
  'intent', f.intent or ''})
if try_assign_handoff(hid, nil, true, h) then
  redis.call('HSET', k_handoff(hid), 'id', hid, 'status', 'offered', 'offer_id', h.offer,
    'offered_to', h.offered_to, 'conversation_id', cid, 'created_ms', NOWS,
    'deadline_ms', fmt(deadline), unpack(fields))
  return {'created', hid, 'offered', -1}
end
fields[#fields + 1] = 'id'
fields[#fields + 1] = hid
fields[#fields + 1] = 'conversation_id'
fields[#fields + 1] = cid
fields[#fields + 1] = 'created_ms'
fields[#fields + 1] = NOWS
fields[#fields + 1] = 'deadline_ms'
fields[#fields + 1] = fmt(deadline)
enqueue(h, fields)
local rank = redis.call('ZRANK', hqueue(h), hid)  -- just queued: there
return {'created', hid, 'queued', rank, unpack(wait_inputs(h))}
"""

ACCEPT = r"""
-- ARGV[2] = offer id, ARGV[3] = agent id
-- touches: offer, handoff, agent, agent handoffs, stats
-- returns {'ok', handoff id} | {'no_offer'} | {'forbidden'} | {'offer_closed', status}
local oid, aid = ARGV[2], ARGV[3]
local hid, refused, offer = pending_offer(oid, aid)
if not hid then return refused end
close_offer(oid, 'accepted', offer, true)
-- the offer becomes an assignment: the agent's load (offers + assigned) does not change
local n = redis.call('HMGET', k_agent(aid), 'offers', 'assigned')
redis.call('HSET', k_agent(aid), 'offers', tonumber(n[1]) - 1, 'assigned', tonumber(n[2]) + 1,
  'misses', 0)
redis.call('SADD', k_agent_handoffs(aid), hid)
local t = redis.call('HMGET', k_handoff(hid), 'answered_ms', 'deadline_ms')
if t[1] then
  redis.call('HSET', k_handoff(hid), 'status', 'assigned', 'agent_id', aid, 'offer_id', '',
    'offered_to', '', 'assigned_ms', NOWS)
else  -- its first answer
  redis.call('HSET', k_handoff(hid), 'status', 'assigned', 'agent_id', aid, 'offer_id', '',
    'offered_to', '', 'assigned_ms', NOWS, 'answered_ms', NOWS)
  redis.call('HINCRBY', k_stats(), 'answered', 1)
  if NOW <= tonumber(t[2]) then redis.call('HINCRBY', k_stats(), 'answered_in_sla', 1) end
end
redis.call('HINCRBY', k_stats(), 'accepts', 1)
emit('accepted', hid, aid, oid)
return {'ok', hid}
"""

REJECT = r"""
-- ARGV[2] = offer id, ARGV[3] = agent id
-- touches: offer, handoff, queue, agent, indexes, stats
-- returns {'ok', handoff id} | {'no_offer'} | {'forbidden'} | {'offer_closed', status}
local oid, aid = ARGV[2], ARGV[3]
local hid, refused = pending_offer(oid, aid)
if not hid then return refused end
close_offer(oid, 'rejected')
redis.call('HINCRBY', k_stats(), 'rejects', 1)
emit('offer_rejected', hid, aid, oid)
requeue(hid, aid, false)
index_agent(load_agent(aid))
try_assign_handoff(hid, aid)
try_assign_agent(load_agent(aid), hid)
return {'ok', hid}
"""

COMPLETE = r"""
-- ARGV[2] = handoff id, ARGV[3] = agent id, ARGV[4] = disposition
-- touches: handoff, agent, agent handoffs, conversation, customer's last agent, handle time of
-- its first skill, queues
-- returns {'ok', offer ids made to the agent from the queues...} | {'no_handoff'} |
-- {'forbidden'} | {'wrong_state', status}
local hid, aid = ARGV[2], ARGV[3]
local h = load_handoff(hid)
if not h then return {'no_handoff'} end
if h.agent ~= aid and h.offered_to ~= aid then return {'forbidden'} end
if h.status ~= 'assigned' then return {'wrong_state', h.status} end
-- loaded before it changes, so its place in the indexes is known: it is in them exactly when
-- available and under capacity (every script leaves it so)
local a = load_agent(aid)
if a then a.indexed = a.status == 'available' and a.load < a.maxc end
redis.call('SREM', k_agent_handoffs(aid), hid)
-- its assigned count is written with its next offer, else below
if a then a.assigned, a.load = a.assigned - 1, a.load - 1
else redis.call('HINCRBY', k_agent(aid), 'assigned', -1) end
record_handle_time(h, redis.call('HGET', k_handoff(hid), 'assigned_ms'))
redis.call('HSET', k_handoff(hid), 'status', 'completed', 'disposition', ARGV[4],
  'closed_ms', NOWS)
end_conversation(h)
if h.customer ~= '' and CFG.sticky_ms > 0 then
  redis.call('SET', k_customer_last(h.customer), aid .. '|' .. fmt(NOW + CFG.sticky_ms),
    'PX', CFG.sticky_ms)
end
redis.call('HINCRBY', k_stats(), 'completed', 1)
emit('completed', hid, aid, nil, {'disposition', ARGV[4]})
-- the freed capacity goes to the queue first; the agent is re-indexed by the offer, or here
local made = {}
if a and try_assign_agent(a, nil, made) == 0 then
  redis.call('HSET', k_agent(aid), 'assigned', a.assigned)
  index_agent(a)
end
return {'ok', unpack(made)}
"""

TRANSFER = r"""
-- ARGV[2] = handoff id, ARGV[3] = agent id, ARGV[4] = new skills JSON or '',
-- ARGV[5] = target agent id or ''
-- touches: handoff, both agents, queues, indexes
-- returns {'ok', status} | {'no_handoff'} | {'no_agent'} | {'forbidden'} | {'wrong_state', status}
local hid, aid, skills, target = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
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
try_assign_agent(load_agent(aid), hid)
return {'ok', redis.call('HGET', k_handoff(hid), 'status')}
"""

ABANDON = r"""
-- ARGV[2] = handoff id
-- touches: handoff, queue, its offer and agent, conversation
-- returns {'ok'} | {'no_handoff'} | {'wrong_state', status}
local hid = ARGV[2]
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
redis.call('HSET', k_handoff(hid), 'status', 'abandoned', 'closed_ms', NOWS)
end_conversation(h)
redis.call('HINCRBY', k_stats(), 'abandoned', 1)
emit('abandoned', hid, holder)
if freed and try_assign_agent(load_agent(freed), nil) == 0 then
  index_agent(load_agent(freed))
end
return {'ok'}
"""

PRIORITY = r"""
-- ARGV[2] = handoff id, ARGV[3] = urgency, ARGV[4] = SLA ms of that urgency
-- touches: handoff, its queue. Only raises urgency: the deadline never moves later.
-- returns {'ok', deadline_ms} | {'no_handoff'} | {'wrong_state', status}
local hid = ARGV[2]
local h = load_handoff(hid)
if not h then return {'no_handoff'} end
if h.status == 'completed' or h.status == 'abandoned' then return {'wrong_state', h.status} end
local d = h.created + tonumber(ARGV[4])
if d < h.deadline then
  redis.call('HSET', k_handoff(hid), 'urgency', ARGV[3], 'deadline_ms', fmt(d))
  if h.status == 'queued' then
    redis.call('ZADD', hqueue(h), 'XX', fmt(d), hid)
  end
  emit('priority', hid, nil, nil, {'urgency', ARGV[3]})
  return {'ok', fmt(d)}
end
return {'ok', fmt(h.deadline)}
"""

TICK = r"""
-- ARGV[2] = batch size, ARGV[3] = '1' to sweep queue heads
-- touches: offer, heartbeat and due deadlines; everything an expiry, a lapse or a widening moves;
-- reads the heartbeat grace.
-- Safe to run from every router process at once: each due item is taken by one run.
-- returns {offers expired, agents gone offline, handoffs re-evaluated, sweep offers}
local batch = tonumber(ARGV[2])
local n1, n2, n3, n4 = 0, 0, 0, 0
local function due(key)
  return redis.call('ZRANGEBYSCORE', key, '-inf', fmt(NOW), 'LIMIT', 0, batch)
end
for _, oid in ipairs(due(k_offer_deadlines())) do
  expire_offer(oid)
  n1 = n1 + 1
end
-- no lapse is judged during the grace after a Redis outage (router/timers.py sets it)
if redis.call('EXISTS', k_heartbeat_grace()) == 0 then
  for _, aid in ipairs(due(k_heartbeats())) do
    go_offline(aid, 'heartbeat')
    n2 = n2 + 1
  end
end
for _, hid in ipairs(due(k_due())) do
  redis.call('ZREM', k_due(), hid)
  local h = load_handoff(hid)
  if h and h.status == 'queued' then
    if CFG.widen_lang_ms > 0 and not h.lang_relaxed and NOW - h.created >= CFG.widen_lang_ms then
      dequeue(h)
      h.lang_relaxed = true
      h.due = ''  -- taken out above
      enqueue(h, {'lang_relaxed', '1'})
    else
      h.due = ''  -- taken out above
      set_due(h, next_due(h))
      redis.call('HSET', k_handoff(hid), 'due_ms', h.due)
    end
    try_assign_handoff(hid, nil)
    n3 = n3 + 1
  end
end
if ARGV[3] == '1' and CFG.sweep > 0 then
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

QUEUE_WAIT = r"""
-- ARGV[2] = handoff id; reads only: its hash and queue, its first skill's index and handle
-- time, staffing
-- returns {status} ('' when there is no such handoff), or when queued {'queued', queue rank,
-- the four values of wait_inputs (router/wait.py)}
local h = load_handoff(ARGV[2])
if not h then return {''} end
if h.status ~= 'queued' then return {h.status} end
local rank = redis.call('ZRANK', hqueue(h), h.id)
if not rank then return {h.status} end
return {h.status, rank, unpack(wait_inputs(h))}
"""

NOOP = r"""
-- the trivial script the benchmark uses as its ceiling; returns 1
return 1
"""

# -- retention (router/purge.py): plain scripts with their keys in KEYS, not engine scripts ----

PURGE_CONVERSATION = r"""
-- KEYS[1] = the gateway's index of conversations by last message, KEYS[2] = the conversation's
-- log stream, KEYS[3] = its hash, KEYS[4] = the ratings index; ARGV[1] = conversation id,
-- ARGV[2] = cutoff ms
-- deletes the conversation (text, survey comment, rating) when its last message is at or before
-- the cutoff; returns 1 deleted, 0 kept (a message came meanwhile)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
if last and tonumber(last) > tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
"""

PURGE_HANDOFF = r"""
-- KEYS[1] = a handoff hash; ARGV[1] = cutoff ms
-- deletes an ended handoff (summary, transcript, customer id) closed at or before the cutoff;
-- returns 0 when there is none, 1 kept (live, or ended after the cutoff), 2 deleted
local v = redis.call('HMGET', KEYS[1], 'status', 'closed_ms')
if not v[1] then return 0 end
if (v[1] == 'completed' or v[1] == 'abandoned') and tonumber(v[2] or '0') <= tonumber(ARGV[1])
then
  redis.call('DEL', KEYS[1])
  return 2
end
return 1
"""

ALL: dict[str, str] = {
    "upsert_agent": UPSERT_AGENT,
    "presence": PRESENCE,
    "delete_agent": DELETE_AGENT,
    "rotate_token": ROTATE_TOKEN,
    "create_handoff": CREATE_HANDOFF,
    "accept": ACCEPT,
    "reject": REJECT,
    "complete": COMPLETE,
    "transfer": TRANSFER,
    "abandon": ABANDON,
    "priority": PRIORITY,
    "tick": TICK,
    "queue_wait": QUEUE_WAIT,
}
