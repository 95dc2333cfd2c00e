"""The engine's Lua library, part 6: the customer gateway's conversations (router/chat_scripts.py):
their active handoff and their message log.
router/lua_lib/__init__.py puts the parts together in this order and says how."""

LUA = r"""
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
-- The archive's feed gets it too, in the same call: sender, its text masked (`masked`, never
-- the log's), and `extra` field/value pairs (agent, client…).
-- Returns the message's seq (its log id).
local function append_message(cid, body, sender, masked, extra)
  local log = k_chat_log(cid)
  local key = k_chat(cid)
  local seq = redis.call('XADD', log, 'MAXLEN', '~', CFGS.history_maxlen, '*', 'm', body)
  local feed = {'kind', 'message', 'conversation', cid, 'ts', NOWS, 'seq', seq,
    'sender', sender, 'text', masked}
  if extra then for i = 1, #extra do feed[#feed + 1] = extra[i] end end
  redis.call('XADD', k_archive(), 'MAXLEN', '~', CFGS.archive_maxlen, '*', unpack(feed))
  local ms = string.match(seq, '^(%d+)')
  redis.call('EXPIRE', log, CFGS.retention_s)
  redis.call('HSET', key, 'updated_ms', ms)
  redis.call('EXPIRE', key, CFGS.retention_s)
  redis.call('ZADD', k_chats(), ms, cid)
  redis.call('PUBLISH', k_chat_live(cid), seq .. ' ' .. body)
  return seq
end
"""
