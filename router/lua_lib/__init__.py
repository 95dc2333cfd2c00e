"""Lua shared by every script of the engine, in parts: the call's constants, events and loaders
(core.py), agents' indexes, staffing and eligibility (agents.py), queues (queues.py), offers and
assignment (offers.py), what ends: expiries, rescinds, going offline, ended handoffs (endings.py),
and the gateway's conversations: their log and active handoff (chat.py).

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
from router.lua_lib import agents, chat, core, endings, offers, queues
from router.selection import EPOCH_MS

__all__ = ["inline_keys", "library_for", "script_source"]

# The parts in definition order: a Lua local exists only below its definition, so each part may
# use what the parts before it define.
_LIB = "".join(part.LUA for part in (core, agents, queues, offers, endings, chat))

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
