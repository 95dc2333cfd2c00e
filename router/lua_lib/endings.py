"""The engine's Lua library, part 5: what ends: an offer expiring, an offer checked before
an accept or reject, offers rescinded, an agent going offline, a conversation's
handoff ended, and the handle time folded into its skill's average.
router/lua_lib/__init__.py puts the parts together in this order and says how."""

LUA = r"""
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
"""
