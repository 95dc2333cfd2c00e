"""Lua shared by every script of the engine: key names, loaders, eligibility, offers, queues,
events, and the gateway's conversations (their log and active handoff).

Each script in router/scripts.py and router/chat_scripts.py runs as
`script_source(body, config)`: the library functions its body uses (directly or through each
other), nothing more — every function defined is a closure Redis creates on each call, so an
unused one is pure cost. Called with KEYS[1] = key
prefix P; every key is derived from it: a call `k_agent(aid)` in this source is written out as
`(P .. 'agent:' .. aid)` from the template in router/keys.py (`inline_keys`), not a function.
ARGV[1] = now in ms; ARGV[2..] = the script's own arguments. The engine
configuration (Settings.engine_config) is written into the source as constants (`CFG.name` is
replaced by the number, `CFGS.name` by the same number as a Lua string, so nothing is decoded or
formatted per call); a process with other settings has scripts of its own. The rules mirror
router/selection.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from router.keys import ANY_LANGUAGE, lua_key_expression
from router.selection import EPOCH_MS

_LIB = r"""
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

local function agent_score(level, a)
  local ratio = math.floor(a.load * 1000 / a.maxc)
  local idle = a.idle - EPOCH
  if idle < 0 then idle = 0 elseif idle > SPAN - 1 then idle = SPAN - 1 end
  return ((5 - level) * 1001 + ratio) * SPAN + idle
end

-- Put the agent in (or take it out of) the index of every (skill, language) it holds.
-- old_skills / old_langs: its previous definition, removed first (after an update).
local function index_agent(a, old_skills, old_langs)
  local on = a.status == 'available' and a.load < a.maxc
  if old_skills then
    for s, _ in pairs(old_skills) do
      redis.call('ZREM', k_idx(s, ANY), a.id)
      for _, l in ipairs(old_langs) do redis.call('ZREM', k_idx(s, l), a.id) end
    end
  elseif not on and a.indexed == false then
    return  -- in no index, and none it should be in
  end
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
  a.indexed = on
end

-- Add (sign 1) or take away (sign -1) an agent's capacity in the staffing hash, under each
-- (skill, language) and (skill, any) it holds.
local function count_staff(skills, langs, maxc, sign)
  local d = sign * maxc
  for s, _ in pairs(skills) do
    redis.call('HINCRBY', k_staffing(), s .. '|' .. ANY, d)
    for _, l in ipairs(langs) do redis.call('HINCRBY', k_staffing(), s .. '|' .. l, d) end
  end
end

-- Keep agent `a` (as load_agent read it, a.status already its new status) counted in the
-- staffing hash exactly while it is available; its field staffed says whether it is. old: its
-- definition before an update ({skills, langs, maxc}, UPSERT_AGENT), under which it was counted.
local function staff_agent(a, old)
  local was = a.staffed
  local on = a.status == 'available'
  if was and (old or not on) then
    local o = old or a
    count_staff(o.skills, o.langs, o.maxc, -1)
  end
  if on and (old or not was) then count_staff(a.skills, a.langs, a.maxc, 1) end
  if on ~= was then redis.call('HSET', k_agent(a.id), 'staffed', on and '1' or '0') end
  a.staffed = on
end

local function eff_level(h)
  if CFG.widen_ms > 0 then
    local lv = h.min_level - math.floor((NOW - h.created) / CFG.widen_ms)
    if lv < 1 then lv = 1 end
    return lv
  end
  return h.min_level
end

local function eligible(a, h, exclude, lv)
  if a.status ~= 'available' or a.load >= a.maxc or a.hb_until <= NOW then return false end
  if a.id == exclude or (a.id == h.skip and NOW < h.skip_until) then return false end
  for _, s in ipairs(h.skills) do
    local have = a.skills[s]
    if (not have) or have < lv then return false end
  end
  return h.lang_relaxed or a.speaks[h.language] == true
end

local function qlang(h) if h.lang_relaxed then return ANY end return h.language end
local function qsig(h) return table.concat(h.skills, ',') end
local function hqueue(h) return k_queue(qsig(h), qlang(h)) end

-- What estimating the wait of queued handoff h takes (router/wait.py does the arithmetic):
-- {free agents in its first skill's index at its level (single-skill handoffs only), the
-- staffed capacity of its skills and language (the smallest), average handle time ms of its
-- first skill, completions that average is measured from}
local function wait_inputs(h)
  local lang = qlang(h)
  local free = 0
  if #h.skills == 1 then
    local bound = '(' .. fmt((6 - eff_level(h)) * 1001 * SPAN)
    free = redis.call('ZCOUNT', k_idx(h.skills[1], lang), '-inf', bound)
  end
  local fields = {}
  for i, s in ipairs(h.skills) do fields[i] = s .. '|' .. lang end
  local capacity = nil
  for _, v in ipairs(redis.call('HMGET', k_staffing(), unpack(fields))) do
    local n = tonumber(v or '0')
    if not capacity or n < capacity then capacity = n end
  end
  local t = redis.call('HMGET', k_handle_time(h.skills[1]), 'avg_ms', 'n')
  return {free, capacity, t[1] or '0', t[2] or '0'}
end

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

-- Next time a queued handoff must be looked at again: a widening step or the end of a re-offer
-- delay; nil when never.
local function next_due(h)
  local t = nil
  if CFG.widen_ms > 0 and eff_level(h) > 1 then
    t = h.created + (math.floor((NOW - h.created) / CFG.widen_ms) + 1) * CFG.widen_ms
  end
  if CFG.widen_lang_ms > 0 and not h.lang_relaxed then
    local tl = h.created + CFG.widen_lang_ms
    if not t or tl < t then t = tl end
  end
  if h.skip ~= '' and h.skip_until > NOW and (not t or h.skip_until < t) then t = h.skip_until end
  return t
end

-- Schedule (t) or unschedule (nil) the handoff in deadline:due; the caller writes h.due to the
-- handoff's field due_ms.
local function set_due(h, t)
  if t then
    h.due = fmt(t)
    redis.call('ZADD', k_due(), h.due, h.id)
  else
    if h.due ~= '' then redis.call('ZREM', k_due(), h.id) end
    h.due = ''
  end
end

-- more: further field/value pairs written to the handoff's hash with its new state
local function enqueue(h, more)
  local s, l = qsig(h), qlang(h)
  redis.call('ZADD', k_queue(s, l), fmt(h.deadline), h.id)
  redis.call('ZADD', k_queue_age(s, l), fmt(h.created), h.id)
  redis.call('SADD', k_queues(), s .. '|' .. l)
  redis.call('SADD', k_skill_queues(h.skills[1]), s .. '|' .. l)
  redis.call('SADD', k_skills(), h.skills[1])
  set_due(h, next_due(h))
  local args = {'status', 'queued', 'offer_id', '', 'offered_to', '', 'agent_id', '',
    'due_ms', h.due}
  if more then for i = 1, #more do args[#args + 1] = more[i] end end
  redis.call('HSET', k_handoff(h.id), unpack(args))
  h.status = 'queued'
end

local function dequeue(h)
  local s, l = qsig(h), qlang(h)
  redis.call('ZREM', k_queue(s, l), h.id)
  redis.call('ZREM', k_queue_age(s, l), h.id)
end

-- fresh: the handoff was just created, never queued, and its hash not yet written: the caller
-- writes its state (h.status, h.offer, h.offered_to) with the rest of it
local function make_offer(h, a, fresh)
  local oid = 'o' .. redis.call('INCR', k_seq_offer())
  local exps = fmt(NOW + CFG.offer_ms)
  if not fresh then
    dequeue(h)
    if h.due ~= '' then redis.call('ZREM', k_due(), h.id) end
    redis.call('HSET', k_handoff(h.id), 'status', 'offered', 'offer_id', oid, 'offered_to', a.id,
      'prefer_agent', '', 'due_ms', '')
  end
  h.status, h.offer, h.offered_to, h.prefer, h.due = 'offered', oid, a.id, '', ''
  redis.call('HSET', k_offer(oid), 'id', oid, 'handoff_id', h.id, 'agent_id', a.id,
    'created_ms', NOWS, 'expires_ms', exps, 'status', 'pending')
  redis.call('ZADD', k_offer_deadlines(), exps, oid)
  redis.call('SADD', k_agent_offers(a.id), oid)
  a.offers = a.offers + 1
  a.load = a.load + 1
  a.idle = NOW
  -- assigned too: a caller may have changed it in `a` alone (COMPLETE), written here
  redis.call('HSET', k_agent(a.id), 'offers', a.offers, 'assigned', a.assigned,
    'idle_since', NOWS)
  index_agent(a)
  emit('offered', h.id, a.id, oid, {'expires_ms', exps})
  return oid
end

-- Close a pending offer; returns {hid, aid} or nil when it was not pending.
-- v: its HMGET handoff_id, agent_id, status when already read; keep_load: leave the agent's
-- offers count to the caller.
local function close_offer(oid, status, v, keep_load)
  v = v or redis.call('HMGET', k_offer(oid), 'handoff_id', 'agent_id', 'status')
  redis.call('ZREM', k_offer_deadlines(), oid)
  if not v[1] or v[3] ~= 'pending' then return nil end
  redis.call('HSET', k_offer(oid), 'status', status, 'closed_ms', NOWS)
  redis.call('EXPIRE', k_offer(oid), CFGS.retention_s)
  redis.call('SREM', k_agent_offers(v[2]), oid)
  if not keep_load then redis.call('HINCRBY', k_agent(v[2]), 'offers', -1) end
  return {hid = v[1], aid = v[2]}
end

-- Put an offered or assigned handoff back in its queue at its original age.
local function requeue(hid, skip_aid, rescued)
  local h = load_handoff(hid)
  if not h or (h.status ~= 'offered' and h.status ~= 'assigned') then return nil end
  local more = {}
  if skip_aid then
    h.skip = skip_aid
    h.skip_until = NOW + CFG.retry_ms
    more = {'skip_agent', skip_aid, 'skip_until', fmt(h.skip_until)}
  end
  if rescued then
    more[#more + 1] = 'rescued'
    more[#more + 1] = '1'
    redis.call('HINCRBY', k_stats(), 'rescued', 1)
  end
  enqueue(h, more)
  emit('requeued', hid)
  return h
end

-- Members of a sorted set in order, fetched in growing chunks (2, 8, 32, ...) up to CFG.scan
-- members, until visit(member, score) returns true. Returns true when it did. Scores are read
-- (and passed) only when with_scores.
local function scan(key, min, max, visit, with_scores)
  local offset, step = 0, 2
  local per = with_scores and 2 or 1
  while offset < CFG.scan do
    local n = math.min(step, CFG.scan - offset)
    local items
    if with_scores then
      items = redis.call('ZRANGEBYSCORE', key, min, max, 'WITHSCORES', 'LIMIT', offset, n)
      for i = 1, #items, 2 do
        if visit(items[i], tonumber(items[i + 1])) then return true end
      end
    else
      items = redis.call('ZRANGEBYSCORE', key, min, max, 'LIMIT', offset, n)
      for i = 1, #items do
        if visit(items[i]) then return true end
      end
    end
    if #items < per * n then return false end
    offset, step = offset + n, step * 4
  end
  return false
end

-- h: the handoff already loaded (a fresh one, just created), else nil: loaded here
local function try_assign_handoff(hid, exclude, fresh, h)
  h = h or load_handoff(hid)
  if not h or h.status ~= 'queued' then return nil end
  local lv = eff_level(h)
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
    if a and eligible(a, h, exclude, lv) then return make_offer(h, a, fresh) end
  end
  local bound = '(' .. fmt((6 - lv) * 1001 * SPAN)
  local chosen = nil
  scan(k_idx(h.skills[1], qlang(h)), '-inf', bound, function(aid)
    local a = load_agent(aid)
    if a and eligible(a, h, exclude, lv) then chosen = a; return true end
    return false
  end, false)
  if chosen then return make_offer(h, chosen, fresh) end
  return nil
end

-- Offer queued handoffs to agent `a` (a loaded agent, kept current here; nil: nothing to do)
-- with free capacity, most urgent first, until it is full. Returns the number of offers made;
-- each offer re-indexed the agent (make_offer), so a caller that changed the agent need index it
-- itself only when this returns 0. made: optional table that receives the offer ids.
local function try_assign_agent(a, exclude_hid, made)
  local n = 0
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
              if h and eligible(a, h, nil, eff_level(h)) then best, bscore = h, sc; return true end
            end
            return false
          end, true)
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
    staff_agent(a)
    emit('presence', nil, o.aid, nil, {'status', 'away', 'reason', 'missed_offers'})
  end
  index_agent(a)
  if h then try_assign_handoff(o.hid, o.aid) end
  try_assign_agent(load_agent(o.aid), o.hid)
end

-- The handoff id of offer `oid` when it is pending for agent `aid` (expiring it if its time is
-- up) and the offer's HMGET (for close_offer); else nil and the script's refusal:
-- {'no_offer'} | {'forbidden'} | {'offer_closed', status}
local function pending_offer(oid, aid)
  local v = redis.call('HMGET', k_offer(oid), 'handoff_id', 'agent_id', 'status', 'expires_ms')
  if not v[1] then return nil, {'no_offer'} end
  if v[2] ~= aid then return nil, {'forbidden'} end
  if v[3] ~= 'pending' then return nil, {'offer_closed', v[3]} end
  if NOW >= tonumber(v[4]) then expire_offer(oid); return nil, {'offer_closed', 'expired'} end
  return v[1], nil, v
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
-- Returns the ids of the handoffs put back (each may already be offered to another agent).
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
  if a then index_agent(a); staff_agent(a) end
  for _, hid in ipairs(back) do try_assign_handoff(hid, aid) end
  return back
end

local function end_conversation(h)
  if h.due ~= '' then redis.call('ZREM', k_due(), h.id) end
  redis.call('EXPIRE', k_handoff(h.id), CFGS.retention_s)
  if h.conv ~= '' and redis.call('GET', k_conv(h.conv)) == h.id then
    redis.call('DEL', k_conv(h.conv))
  end
end

-- Fold the handle time of an assignment that ends now (accepted at assigned_ms) into the average
-- of the handoff's first skill: the mean of the first CFG.handle_window completions, then an
-- exponentially weighted average of weight 1 / CFG.handle_window; one sample counts at most
-- CFG.handle_cap_ms. Nothing when the accept time is unknown or later than now (another
-- process's clock).
local function record_handle_time(h, assigned_ms)
  local t = tonumber(assigned_ms or '')
  if not t or t > NOW then return end
  local d = math.min(NOW - t, CFG.handle_cap_ms)
  local key = k_handle_time(h.skills[1])
  local v = redis.call('HMGET', key, 'avg_ms', 'n')
  local n = tonumber(v[2] or '0') + 1
  local avg = tonumber(v[1] or '0')
  avg = avg + (d - avg) / math.min(n, CFG.handle_window)
  redis.call('HSET', key, 'avg_ms', fmt(avg), 'n', n)
end

-- -- the customer gateway's conversations (router/chat_scripts.py) ---------------------------

-- The active handoff of conversation cid: its id, status and agent id ('' for each where there
-- is none; status '' also when the handoff itself is gone).
local function conversation_handoff(cid)
  local hid = redis.call('GET', k_conv(cid))
  if not hid then return '', '', '' end
  local h = redis.call('HMGET', k_handoff(hid), 'status', 'agent_id')
  return hid, h[1] or '', h[2] or ''
end

-- Append a message (JSON, field m) to conversation cid's log and publish "<seq> <json>" on its
-- live channel; its hash and its place in the index of conversations follow its last message.
-- Returns the message's seq (its log id).
local function append_message(cid, body)
  local log = k_chat_log(cid)
  local key = k_chat(cid)
  local seq = redis.call('XADD', log, 'MAXLEN', '~', CFGS.history_maxlen, '*', 'm', body)
  local ms = string.match(seq, '^(%d+)')
  redis.call('EXPIRE', log, CFGS.retention_s)
  redis.call('HSET', key, 'updated_ms', ms)
  redis.call('EXPIRE', key, CFGS.retention_s)
  redis.call('ZADD', k_chats(), ms, cid)
  redis.call('PUBLISH', k_chat_live(cid), seq .. ' ' .. body)
  return seq
end
"""

_DEFINES = re.compile(r"^local (?:function )?(\w+)", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z_]\w*")
_CFG = re.compile(r"\bCFG(S?)\.(\w+)")
_KEY_CALL = re.compile(r"\bk_(\w+)\(")


@cache
def _blocks() -> tuple[tuple[str, str, frozenset[str]], ...]:
    """The library as (name, text, names it uses) blocks, in definition order: each top-level
    `local function f` or `local x =` starts one (with the comments above it)."""
    source = _LIB.replace("__ANY__", ANY_LANGUAGE).replace("__EPOCH__", str(EPOCH_MS))
    starts = [m.start() for m in _DEFINES.finditer(source)]
    blocks: list[tuple[str, str]] = []
    for i, start in enumerate(starts):
        # a block's leading comment lines belong to it: cut before them
        end = starts[i + 1] if i + 1 < len(starts) else len(source)
        text = source[start:end]
        name = _DEFINES.match(text)
        assert name is not None
        blocks.append((name.group(1), text))
    names = {name for name, _ in blocks}
    return tuple(
        (name, text, frozenset(_WORD.findall(text)) & names - {name}) for name, text in blocks
    )


def library_for(body: str) -> str:
    """The library blocks `body` needs, directly or through each other, in definition order."""
    blocks = _blocks()
    uses = {name: deps for name, _, deps in blocks}
    wanted: set[str] = set()
    todo = [w for w in set(_WORD.findall(body)) if w in uses]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(uses[name])
    return "".join(text for name, text, _ in blocks if name in wanted)


def _call_args(source: str, start: int) -> tuple[list[str], int]:
    """The top-level arguments of the call whose `(` ends just before `start`, and the index
    after its `)`. Skips nested brackets and string literals."""
    args: list[str] = []
    depth, i, begin, quote = 0, start, start, ""
    while True:
        c = source[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                if source[begin:i].strip() or args:
                    args.append(source[begin:i])
                return args, i + 1
            depth -= 1
        elif c == "," and depth == 0:
            args.append(source[begin:i])
            begin = i + 1
        i += 1


def inline_keys(source: str) -> str:
    """Every key call `k_name(part, ...)` written out as its expression (router/keys.py):
    a function per key would be one more closure Redis creates on every call of the script."""
    out: list[str] = []
    pos = 0
    while (m := _KEY_CALL.search(source, pos)) is not None:
        args, end = _call_args(source, m.end())
        out.append(source[pos : m.start()])
        out.append(lua_key_expression(m.group(1), [inline_keys(a) for a in args]))
        pos = end
    out.append(source[pos:])
    return "".join(out)


def script_source(body: str, config: Mapping[str, int]) -> str:
    """The full source of one script: its library, then its body, with the key names and the
    configuration written in."""
    source = "local P = KEYS[1]\n" + inline_keys(library_for(body) + body)

    def constant(m: re.Match[str]) -> str:
        value = int(config[m.group(2)])
        return f"'{value}'" if m.group(1) else f"({value})"

    return _CFG.sub(constant, source)
