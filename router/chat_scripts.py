"""The customer gateway's changes to a conversation, one atomic Lua script each.

They run like the routing scripts (router/scripts.py): KEYS[1] = key prefix, every key derived
from it by the table in router/keys.py, ARGV[1] = now_ms, the library of router/lua_lib/
(`append_message`, `conversation_handoff`, `emit`) and the engine configuration written into the
source; router/engine.py calls them through typed methods. The header of each body lists
ARGV[2..] and the reply; an error code first in a reply becomes a domain error.
"""

from __future__ import annotations

CHAT_APPEND = r"""
-- ARGV[2] = conversation id, ARGV[3] = the message JSON (without its seq), ARGV[4] = sender
-- (bot, system), ARGV[5] = its text masked (for the archive's feed)
-- touches: the conversation's log, hash, live channel and place in the index of conversations;
-- the archive's feed
-- returns {'ok', seq}
return {'ok', append_message(ARGV[2], ARGV[3], ARGV[4], ARGV[5])}
"""

CUSTOMER_TURN = r"""
-- ARGV[1] = the message's ts, ARGV[2] = conversation id, ARGV[3] = its channel (web, app…),
-- ARGV[4] = the message JSON (without its seq), ARGV[5] = sender, ARGV[6] = the text as its
-- agent sees it (masked; also the archive's feed's), ARGV[7] = the client's pseudonymous key
-- ('' when none)
-- touches: the conversation's hash (created with its channel when new), log, live channel and
-- place in the index of conversations; the archive's feed (with the channel, and the agent
-- when one is assigned); reads its active handoff; the assigned agent's stream (event
-- customer_message; never the stream `events`)
-- returns {'ok', seq, handoff id, status, agent id ('' where there is none), then the
-- conversation's hash as it was before this message: field, value, ...}
local cid = ARGV[2]
local key = k_chat(cid)
if redis.call('HSETNX', key, 'created_ms', NOWS) == 1 then
  redis.call('HSET', key, 'channel', ARGV[3])
end
local meta = redis.call('HGETALL', key)
local hid, status, aid = conversation_handoff(cid)
local extra = {'channel', ARGV[3], 'client', ARGV[7]}
if status == 'assigned' and aid ~= '' then
  extra[#extra + 1] = 'agent'
  extra[#extra + 1] = aid
end
local seq = append_message(cid, ARGV[4], ARGV[5], ARGV[6], extra)
if status == 'assigned' and aid ~= '' then
  emit('customer_message', hid, aid, nil,
    {'seq', seq, 'conversation', cid, 'sender', ARGV[5], 'text', ARGV[6]}, true)
end
return {'ok', seq, hid, status, aid, unpack(meta)}
"""

AGENT_MESSAGE = r"""
-- ARGV[2] = conversation id, ARGV[3] = agent id (its token already checked), ARGV[4], ARGV[5] =
-- the message JSON (without its seq) before and after its agent_name field, ARGV[6] = its text
-- masked (for the archive's feed)
-- touches: the conversation's log, hash, live channel and place in the index of conversations;
-- the archive's feed; reads its active handoff and the agent's display name (the message's
-- agent_name)
-- returns {'ok', seq} | {'no_active_handoff'} | {'forbidden'} (not assigned to this agent)
local cid, aid = ARGV[2], ARGV[3]
local _, status, holder = conversation_handoff(cid)
if status == '' then return {'no_active_handoff'} end
if status ~= 'assigned' or holder ~= aid then return {'forbidden'} end
local name = redis.call('HGET', k_agent(aid), 'display_name')
local body = ARGV[4] .. ARGV[5]
if name then body = ARGV[4] .. ',"agent_name":' .. cjson.encode(name) .. ARGV[5] end
return {'ok', append_message(cid, body, 'agent', ARGV[6], {'agent', aid})}
"""

CONVERSATION_HANDOFFS = r"""
-- ARGV[2..] = conversation ids; reads only: their active handoffs
-- returns {'ok', then per conversation: handoff id, status, agent id ('' where there is none)}
local out = {'ok'}
for i = 2, #ARGV do
  local hid, status, aid = conversation_handoff(ARGV[i])
  out[#out + 1] = hid
  out[#out + 1] = status
  out[#out + 1] = aid
end
return out
"""

CONVERSATION_STATE = r"""
-- ARGV[2] = conversation id; reads only: its hash, its active handoff, the assigned agent's
-- display name
-- returns {'ok', handoff id, status, agent id, the agent's display name ('' where there is
-- none), then the conversation's hash: field, value, ...}
local cid = ARGV[2]
local hid, status, aid = conversation_handoff(cid)
local name = ''
if status == 'assigned' and aid ~= '' then
  name = redis.call('HGET', k_agent(aid), 'display_name') or ''
end
return {'ok', hid, status, aid, name, unpack(redis.call('HGETALL', k_chat(cid)))}
"""

CLAIM_AWAITING = r"""
-- ARGV[2] = conversation id, ARGV[3] = the survey step expected, ARGV[4] = the next one
-- touches: the conversation's hash (compare-and-set of its field awaiting: a double click rates
-- once)
-- returns {'ok', 1} when it was the step expected (now the next one), else {'ok', 0}
local key = k_chat(ARGV[2])
if redis.call('HGET', key, 'awaiting') == ARGV[3] then
  redis.call('HSET', key, 'awaiting', ARGV[4])
  return {'ok', 1}
end
return {'ok', 0}
"""

ALL: dict[str, str] = {
    "chat_append": CHAT_APPEND,
    "customer_turn": CUSTOMER_TURN,
    "agent_message": AGENT_MESSAGE,
    "conversation_handoffs": CONVERSATION_HANDOFFS,
    "conversation_state": CONVERSATION_STATE,
    "claim_awaiting": CLAIM_AWAITING,
}
