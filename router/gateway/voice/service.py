"""Phone calls as gateway conversations: `VoiceCalls` starts a call, takes its turns and ends it.

A call is a conversation of the customer gateway with channel `voice` (same store, same log,
same handoff to the router, so an agent sees it like a chat); its id is derived from the
gateway's call id with the pseudonym key (`conversation_of`) and neither is ever logged raw.
The call's own state is one Redis hash (router/keys.py `voice_call`, expiring like the
conversation): the conversation id, the last seq answered and that answer (a repeated seq gets
it again; a lower one is a conflict), the slot asked for and its number kind, failed tries at
it, whether the keypad is on, the options of the last prompt, the caller's pseudonymous key.
One turn of a call runs at a time across router processes (a Redis lock per call).

A turn: the n-best alternatives are normalised for the number expected (telecom.speech), ranked
by speech confidence × the assistant's intent confidence (its /model/parse, only when it can
change the choice — turns.choice_without_intents) × whether it fills the expected slot validly,
the best one goes through the same path as a chat turn (Gateway.answered_turn, with its speech
confidence for the archive's reading), and the assistant's replies to it are made into a
spoken answer (speak.py); DTMF goes through the keypad rules instead (turns.keypad).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import redis.asyncio as aioredis

from router import errors
from router.gateway import edge, replies
from router.gateway.bot import Parse, reading_of
from router.gateway.models import ChatMessage, CustomerMessage, Sender
from router.gateway.service import Answered, Gateway
from router.gateway.store import now_ms
from router.gateway.voice import speak, turns
from router.gateway.voice.models import (
    GREETING_SEQ,
    Action,
    CallStart,
    EndReason,
    VoiceAnswer,
    VoiceTurn,
)
from router.keys import Keys
from router.logs import short_hash
from telecom import speech
from telecom.dates import CHINA_TZ

log = logging.getLogger(__name__)

CHANNEL = "voice"
HANDED_OFF = ("queued", "offered", "assigned")
SILENCES_BEFORE_HANGUP = 3
GOODBYE_INTENTS = frozenset({"goodbye"})
GOODBYE_ACTIONS = frozenset({"utter_goodbye"})


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()


@dataclass(frozen=True)
class Heard:
    """What goes to the assistant from one caller turn."""

    text: str
    payload: str | None
    by_voice: bool
    asr_confidence: float | None = None  # the chosen alternative's, for the archive


class VoiceCalls:
    def __init__(
        self,
        gateway: Gateway,
        redis: aioredis.Redis,
        keys: Keys,
        pseudonym_key: bytes,
        retention_s: int,
        lock_timeout_s: float,
        today: Callable[[], date] = china_today,
    ) -> None:
        self.gateway = gateway
        self.redis = redis
        self.keys = keys
        self._key = pseudonym_key
        self.retention_s = retention_s
        self.lock_timeout_s = lock_timeout_s
        self.today = today

    def conversation_of(self, call_id: str) -> str:
        """The call's conversation id: keyed, so a call id alone does not name it."""
        digest = hmac.new(self._key, b"voice-call:" + call_id.encode(), hashlib.sha256)
        return "voice-" + digest.hexdigest()[:40]

    def _lock(self, conversation_id: str) -> Any:
        return self.redis.lock(
            self.keys.voice_lock(conversation_id),
            timeout=self.lock_timeout_s,
            blocking_timeout=self.lock_timeout_s,
        )

    async def _call(self, conversation_id: str) -> dict[str, str]:
        return replies.fields(await self.redis.hgetall(self.keys.voice_call(conversation_id)))

    async def _save(self, conversation_id: str, **fields: str) -> None:
        key = self.keys.voice_call(conversation_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=replies.mapping(fields))
            pipe.expire(key, self.retention_s)
            await pipe.execute()

    # -- start --------------------------------------------------------------------------------
    async def start(self, body: CallStart) -> tuple[VoiceAnswer, bool]:
        """The greeting, and True when the call is new (False: opened before, same answer)."""
        cid = self.conversation_of(body.call_id)
        async with self._lock(cid):
            call = await self._call(cid)
            if call.get("answer"):
                return VoiceAnswer.model_validate_json(call["answer"]), False
            text = speak.GREETING
            answer = VoiceAnswer(
                call_id=body.call_id, seq=GREETING_SEQ, text=text, ssml=speak.ssml(text),
                barge_in=True, expect=speak.expectation(None, keypad=False, options=0),
                action="continue",
            )  # fmt: skip
            client = edge.client_key(self._key, f"tel:{body.caller}") if body.caller else ""
            created = str(body.started_ts or now_ms())
            await self.gateway.store.set_meta(cid, channel=CHANNEL, created_ms=created)
            await self.gateway.store.append(cid, speak_message(text))
            await self._save(
                cid, conversation=cid, seq=str(GREETING_SEQ), answer=answer.model_dump_json(),
                client=client, created_ms=created,
            )  # fmt: skip
        log.info("gateway.voice.call_started conversation=%s", short_hash(cid))
        return answer, True

    # -- turns --------------------------------------------------------------------------------
    async def turn(self, call_id: str, body: VoiceTurn) -> VoiceAnswer:
        """The answer to a final turn (the caller has checked is_final)."""
        cid = self.conversation_of(call_id)
        async with self._lock(cid):
            call = await self._call(cid)
            if not call:
                raise errors.NotFound("no such call")
            last = int(call.get("seq") or GREETING_SEQ)
            if body.seq == last and call.get("answer"):
                return VoiceAnswer.model_validate_json(call["answer"])
            if body.seq < last:
                raise errors.Conflict("seq already passed")
            if call.get("ended"):
                raise errors.WrongState("call ended")
            heard = await self._heard(body, call)
            if heard is None:
                return await self._reprompt(call_id, cid, call, body.seq)
            metadata = edge.assistant_metadata(CHANNEL, call.get("client") or "", None)
            turn = CustomerMessage(text=heard.text, payload=heard.payload, metadata=metadata)
            answered = await self.gateway.answered_turn(cid, turn, CHANNEL, heard.asr_confidence)
            answer = await self._answer(call_id, cid, call, body.seq, heard, answered)
        log.info(
            "gateway.voice.turn conversation=%s seq=%d action=%s by_voice=%s",
            short_hash(cid), body.seq, answer.action, heard.by_voice,
        )  # fmt: skip
        return answer

    async def _heard(self, body: VoiceTurn, call: dict[str, str]) -> Heard | None:
        """The caller's turn as the assistant gets it; None when nothing was said or typed."""
        kind = turns.as_expect(call.get("kind"))
        options: list[list[str]] = json.loads(call.get("options") or "[]")
        if body.dtmf:
            typed = turns.keypad(body.dtmf, kind)
            return self._option(typed, options, kind, by_voice=False) if typed else None
        texts = [speech.normalise(a.text, kind) for a in body.alternatives]
        if not any(t.strip() for t in texts):
            return None
        today = self.today()
        confidences = [a.confidence for a in body.alternatives]
        valid = [None if kind is None else turns.fills(kind, t, today) for t in texts]
        index = turns.choice_without_intents(confidences, texts, valid)
        if index is None:  # the assistant's intent confidence may decide
            parses = await asyncio.gather(*(self._parse(t) for t in texts))
            scored = [
                (confidence, 1.0 if parse is None else parse.confidence, filled)
                for confidence, parse, filled in zip(confidences, parses, valid, strict=True)
            ]
            index = speech.choose(scored)
        heard = self._option(texts[index].strip(), options, kind, by_voice=True)
        return replace(heard, asr_confidence=confidences[index])

    async def _parse(self, text: str) -> Parse | None:
        if not text.strip():
            return Parse(None, 0.0)
        return await self.gateway.bot.parse(text)

    @staticmethod
    def _option(
        text: str, options: list[list[str]], kind: speech.Expect | None, *, by_voice: bool
    ) -> Heard:
        """A pick of the last prompt's options ('一', '1', DTMF 1) is that button's payload."""
        if options and kind is None:
            pick = turns.picked_option(text, len(options))
            if pick is not None:
                title, payload = options[pick - 1]
                return Heard(title, payload, by_voice)
        return Heard(text, None, by_voice)

    async def _answer(
        self,
        call_id: str,
        cid: str,
        call: dict[str, str],
        seq: int,
        heard: Heard,
        answered: Answered,
    ) -> VoiceAnswer:
        reading = reading_of(answered.replies) or {}
        slot = reading.get("requested_slot")
        slot = slot if isinstance(slot, str) and slot else None
        kind = turns.expect_of(slot)
        tries = turns.failed_tries(
            call.get("slot") or None, slot, heard.by_voice, int(call.get("tries") or 0)
        )
        keypad = turns.wants_keypad(slot, tries) or (
            kind in turns.KEYPAD_DIGITS and call.get("keypad") == "1" and slot == call.get("slot")
        )
        texts = [r.text for r in answered.replies if r.text]
        buttons = [b for r in answered.replies for b in r.buttons][: turns.MAX_OPTIONS]
        if answered.bot_down:
            texts, buttons = [speak.BOT_DOWN], []
            options = [["人工", "/request_human"]]
        else:
            options = [[b.title, b.payload] for b in buttons]
        action, handoff_id, queue = await self._action(cid, reading)
        spoken = [speak.voice_text(t, spoken_words=not keypad) for t in texts]
        if action == "transfer":
            options, spoken = [], spoken or [speak.TRANSFERRING]
        elif action == "hangup":
            options = []
        elif keypad and kind is not None:
            spoken.append(speak.keypad_prompt(kind))
        elif buttons:
            spoken.append(speak.options_text([b.title for b in buttons]))
        elif not spoken:
            spoken = [speak.ANYTHING_ELSE]
        text = "".join(spoken)
        answer = VoiceAnswer(
            call_id=call_id, seq=seq, text=text, ssml=speak.ssml(text),
            barge_in=not speak.is_notice(texts) and action == "continue",
            expect=speak.expectation(kind, keypad=keypad, options=len(options)),
            action=action, handoff_id=handoff_id, queue=queue,
        )  # fmt: skip
        await self._save(
            cid, seq=str(seq), answer=answer.model_dump_json(), slot=slot or "",
            kind=kind or "", tries=str(tries), keypad="1" if keypad else "",
            options=json.dumps(options, ensure_ascii=False), silences="0",
        )  # fmt: skip
        return answer

    async def _action(
        self, cid: str, reading: dict[str, Any]
    ) -> tuple[Action, str | None, str | None]:
        """transfer while the conversation has a handoff (the assistant, or the gateway for it,
        handed off), with its id and queue (its first skill); hang up after a goodbye."""
        handoff = await self.gateway.store.active_handoff(cid)
        if handoff is not None and handoff.status in HANDED_OFF:
            (skills,) = await self.gateway.store.handoff_fields(handoff.handoff_id, "skills")
            names = json.loads(skills) if skills else []
            queue = str(names[0]) if names else None
            return "transfer", handoff.handoff_id, queue
        if reading.get("intent") in GOODBYE_INTENTS or reading.get("action") in GOODBYE_ACTIONS:
            return "hangup", None, None
        return "continue", None, None

    async def _reprompt(
        self, call_id: str, cid: str, call: dict[str, str], seq: int
    ) -> VoiceAnswer:
        """Nothing was heard: the last prompt again; after SILENCES_BEFORE_HANGUP in a row,
        goodbye."""
        silences = int(call.get("silences") or 0) + 1
        last = VoiceAnswer.model_validate_json(call["answer"])
        if silences >= SILENCES_BEFORE_HANGUP:
            text = speak.SILENCE + speak.GOODBYE
            answer = last.model_copy(
                update={"seq": seq, "text": text, "ssml": speak.ssml(text), "action": "hangup"}
            )
        else:
            text = speak.SILENCE + last.text
            answer = last.model_copy(update={"seq": seq, "text": text, "ssml": speak.ssml(text)})
        await self._save(cid, seq=str(seq), answer=answer.model_dump_json(), silences=str(silences))
        return answer

    async def silence(self, call_id: str) -> VoiceAnswer:
        """The caller said nothing before the gateway's timeout (a turn without input)."""
        cid = self.conversation_of(call_id)
        async with self._lock(cid):
            call = await self._call(cid)
            if not call.get("answer"):
                raise errors.NotFound("no such call")
            return await self._reprompt(call_id, cid, call, int(call.get("seq") or 0) + 1)

    async def next_seq(self, call_id: str) -> int:
        """The seq after the last one answered (gateways without their own turn counter)."""
        cid = self.conversation_of(call_id)
        (seq,) = replies.texts(await self.redis.hmget(self.keys.voice_call(cid), "seq"))
        if seq is None:
            raise errors.NotFound("no such call")
        return int(seq) + 1

    # -- end ----------------------------------------------------------------------------------
    async def end(self, call_id: str, reason: EndReason) -> None:
        """The call is over: a handoff still waiting is withdrawn unless the caller was put
        through (transfer_done); the conversation is marked ended. Ending again changes
        nothing."""
        cid = self.conversation_of(call_id)
        key = self.keys.voice_call(cid)
        if not await self.redis.exists(key):
            raise errors.NotFound("no such call")
        if not await self.redis.hsetnx(key, "ended", reason):
            return
        withdrawn = False
        if reason != "transfer_done":
            withdrawn = await self.gateway.cancel_handoff(cid)
        store = self.gateway.store
        await store.set_meta(cid, ended=reason, ended_ms=str(now_ms()))
        handoff = await store.active_handoff(cid)
        if not withdrawn and handoff is None:
            # a withdrawn handoff's end is the router's `abandoned` event (Gateway.on_router_event)
            await store.feed("ended", cid, self.gateway.engine.clock(), ended_by="customer")
        log.info(
            "gateway.voice.call_ended conversation=%s reason=%s withdrawn=%s",
            short_hash(cid), reason, withdrawn,
        )  # fmt: skip


def speak_message(text: str) -> ChatMessage:
    """The greeting as a bot message of the conversation's log."""
    return ChatMessage(sender=Sender.bot, text=text, ts=now_ms())
