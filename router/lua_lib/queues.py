"""The engine's Lua library, part 3: queues (their names, enqueue, dequeue, forgetting an
empty one), a queued handoff's next due time and the inputs of its wait estimate.
router/lua_lib/__init__.py puts the parts together in this order and says how."""

LUA = r"""
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
"""
