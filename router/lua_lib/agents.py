"""The engine's Lua library, part 2: an agent's place in the indexes and in the staffing
hash, a handoff's effective level, and whether an agent may take a handoff.
router/lua_lib/__init__.py puts the parts together in this order and says how."""

LUA = r"""
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
"""
