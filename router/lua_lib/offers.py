"""The engine's Lua library, part 4: making and closing offers, requeueing, and assignment
(a handoff to the best agent, an agent to the most urgent handoffs it can serve).
router/lua_lib/__init__.py puts the parts together in this order and says how."""

LUA = r"""
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
"""
