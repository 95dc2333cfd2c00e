"""The gateway: who owns a conversation, where a customer's turn goes, what the customer is told.

Owner: the router's active handoff of the conversation decides it (assigned → that agent;
queued or offered → the customer waits and may keep talking to the bot; none → the bot), so
every router process agrees without any state of its own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from router import errors
from router.engine import Engine
from router.gateway import archive_feed, survey
from router.gateway.bot import BotClient, BotReply, BotUnavailable, reading_of
from router.gateway.models import (
    Button,
    ChatMessage,
    ConversationState,
    CustomerMessage,
    Sender,
)
from router.gateway.settings import GatewaySettings
from router.gateway.store import ConversationStore, now_ms, system_message
from router.logs import short_hash
from router.models import HandoffCreate, Urgency
from telecom import mask
from telecom.urgency import should_raise
from telecom.wait import wait_text

log = logging.getLogger(__name__)

# When the assistant does not answer: said plainly, with a human offered (the button, or the word
# the message tells them to type); the gateway then makes the handoff itself.
BOT_DOWN = (
    "抱歉，智能助手暂时无法回复。您可以稍后再试，"
    "或点击“转人工”（也可以直接输入“人工”），由人工客服为您服务。"
)
HUMAN_PAYLOAD = "/request_human"
HUMAN_BUTTON = Button(title="转人工", payload=HUMAN_PAYLOAD)
HUMAN_WORDS = frozenset({"人工", "转人工", HUMAN_BUTTON.title})
FALLBACK_SUMMARY = "智能助手暂时无法服务，客户请求人工客服（由网关直接转接，未经身份验证）。"


RaisePriority = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class Answered:
    """A customer's turn stored (`seq`) and what the assistant answered to it: its replies (the
    reading with them, bot.reading_of), none when the turn went elsewhere (an agent, the
    survey, a handoff the gateway made); `bot_down` when the assistant did not answer."""

    seq: str
    replies: list[BotReply] = field(default_factory=list)
    bot_down: bool = False


def asks_for_human(text: str, payload: str | None) -> bool:
    """The turn takes up the offer of a human made when the assistant was down."""
    return payload == HUMAN_PAYLOAD or text.strip() in HUMAN_WORDS


def fallback_handoff(conversation_id: str, channel: str, skill: str) -> HandoffCreate:
    """The handoff the gateway makes itself while the assistant is down: the conversation's
    channel, normal urgency, the general skill; nobody verified, so no customer id."""
    return HandoffCreate(
        conversation_id=conversation_id,
        channel=channel,
        intent="request_human",
        urgency=Urgency.normal,
        skills=[skill],
        summary=FALLBACK_SUMMARY,
    )


class Gateway:
    def __init__(
        self,
        store: ConversationStore,
        bot: BotClient,
        settings: GatewaySettings,
        engine: Engine,
        raise_priority: RaisePriority | None = None,
    ) -> None:
        self.store = store
        self.bot = bot
        self.settings = settings
        # the router's engine: a human while the assistant is down, a customer who stops waiting
        self.engine = engine
        # (handoff_id, urgency) → the router moves the handoff's SLA deadline earlier
        self.raise_priority = raise_priority
        # one turn at a time per conversation in this process (the bot sees turns in order)
        self._turn_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # -- customers ----------------------------------------------------------------------------
    async def state(self, conversation_id: str) -> ConversationState:
        parts = await self.store.state_parts(conversation_id)
        handoff = parts.handoff
        state = ConversationState(
            conversation_id=conversation_id,
            owner="bot",
            awaiting=parts.meta.get("awaiting") or None,
        )
        if handoff is None:
            return state
        state.handoff_id = handoff.handoff_id
        if handoff.status == "assigned" and handoff.agent_id:
            state.owner = "agent"
            state.agent_name = parts.agent_name
        elif handoff.status in ("queued", "offered"):
            state.owner = "queue"
            position, wait = await self.store.queue_position(handoff.handoff_id)
            state.queue_position, state.estimated_wait_s = position, wait
            if position:
                state.estimated_wait_text = wait_text(wait)
        return state

    async def customer_turn(self, conversation_id: str, turn: CustomerMessage, channel: str) -> str:
        """Store the customer's message and pass it on (agent or bot); returns its seq."""
        return (await self.answered_turn(conversation_id, turn, channel)).seq

    async def answered_turn(
        self,
        conversation_id: str,
        turn: CustomerMessage,
        channel: str,
        asr_confidence: float | None = None,
    ) -> Answered:
        """customer_turn, with what the assistant answered to this turn (the voice channel
        speaks it: router/gateway/voice; `asr_confidence`, the speech confidence of the
        alternative it chose, goes to the archive with the assistant's reading)."""
        text = turn.text.strip()[: self.settings.max_text_chars]
        if not text and not turn.payload:
            raise errors.RouterError("empty message")
        lock = self._turn_locks.get(conversation_id)
        if lock is None:
            lock = self._turn_locks[conversation_id] = asyncio.Lock()
        async with lock:
            return await self._turn(conversation_id, text, turn, channel, asr_confidence)

    async def _turn(
        self,
        conversation_id: str,
        text: str,
        turn: CustomerMessage,
        channel: str,
        asr_confidence: float | None = None,
    ) -> Answered:
        shown = text or (turn.payload or "")
        message = ChatMessage(sender=Sender.customer, text=shown, ts=now_ms())
        # one round trip: create/read the conversation, find its owner, store and pass it on
        client = turn.metadata.get("client")
        stored = await self.store.customer_turn(
            conversation_id, channel, message, client if isinstance(client, str) else ""
        )
        seq, meta, handoff = stored.seq, stored.meta, stored.handoff
        if handoff is not None and handoff.status == "assigned":
            return Answered(seq)  # the agent has it (copied to their events by the same script)
        awaiting = meta.get("awaiting") or ""
        if awaiting and await self._survey(conversation_id, awaiting, text, turn.payload):
            return Answered(seq)
        if meta.get("bot_down") and asks_for_human(text, turn.payload):
            await self._handoff_without_bot(conversation_id, meta.get("channel") or channel)
            return Answered(seq)
        replies = await self._ask_bot(
            conversation_id, turn.payload or text, channel, turn.metadata,
            was_down=bool(meta.get("bot_down")), seq=seq, meta=meta,
            asr_confidence=asr_confidence,
        )  # fmt: skip
        if handoff is not None and handoff.status in ("queued", "offered") and text:
            await self._reprioritise(handoff.handoff_id, text)
        return Answered(seq, [] if replies is None else replies, bot_down=replies is None)

    async def _handoff_without_bot(self, conversation_id: str, channel: str) -> None:
        """The customer took up the human offered while the assistant was down: the gateway
        makes the handoff through the router's engine (the customer hears of it from its
        `created` event, as from one the assistant makes)."""
        skill = self.settings.fallback_skill
        await self.engine.create_handoff(fallback_handoff(conversation_id, channel, skill))
        log.info("gateway.handoff.without_bot conversation=%s", short_hash(conversation_id))
        await self.push_state(conversation_id)

    async def _reprioritise(self, handoff_id: str, text: str) -> None:
        """A waiting customer wrote something more urgent than their handoff: raise it."""
        if self.raise_priority is None:
            return
        new = await self.bot.urgency(text)
        (current,) = await self.store.handoff_fields(handoff_id, "urgency")
        if should_raise(current, new) and new is not None:
            await self.raise_priority(handoff_id, new)
            log.info("gateway.handoff.reprioritised handoff=%s urgency=%s", handoff_id, new)

    async def _ask_bot(
        self,
        conversation_id: str,
        text: str,
        channel: str,
        metadata: dict[str, Any],
        was_down: bool = False,
        seq: str = "",
        meta: dict[str, str] | None = None,
        asr_confidence: float | None = None,
    ) -> list[BotReply] | None:
        """The assistant's replies to the turn (stored and passed on); None when it did not
        answer (the customer was told so, and offered a human)."""
        await self.store.publish_event(conversation_id, {"type": "typing", "on": True})
        # one id per customer turn: the bot client sends the turn again with it to another
        # assistant instance when one fails, and the assistant does not run it twice
        message_id = uuid.uuid4().hex
        answered = True
        try:
            replies = await self.bot.send(
                conversation_id, text, channel, metadata, message_id=message_id
            )
        except BotUnavailable:
            replies, answered = [], False
            await self.store.set_meta(conversation_id, bot_down="1")
            await self.store.append(
                conversation_id, system_message(BOT_DOWN, buttons=[HUMAN_BUTTON])
            )
        else:
            if was_down:
                await self.store.clear_meta(conversation_id, "bot_down")
        finally:
            await self.store.publish_event(conversation_id, {"type": "typing", "on": False})
        for reply in replies:
            message = ChatMessage(
                sender=Sender.bot, text=reply.text, buttons=reply.buttons, ts=now_ms()
            )
            await self.store.append(conversation_id, message)
        reading = reading_of(replies)
        if reading is not None and seq:
            await self._archive_reading(conversation_id, seq, reading, asr_confidence)
            if archive_feed.bot_survey_due(reading, meta or {}):
                await self._ask_bot_rating(conversation_id)
        # the bot may just have handed off: tell the customer where they stand at once
        await self.push_state(conversation_id)
        return replies if answered else None

    async def _archive_reading(
        self,
        conversation_id: str,
        seq: str,
        reading: dict[str, Any],
        asr_confidence: float | None = None,
    ) -> None:
        """The assistant's reading of the customer's turn `seq` (with a voice turn's speech
        confidence), and the ticket it opened, to the archive's feed."""
        now = self.engine.clock()
        fields = archive_feed.reading(seq, reading, asr_confidence)
        await self.store.feed("reading", conversation_id, now, **fields)
        ticket = archive_feed.ticket(reading)
        if ticket is not None:
            await self.store.feed("ticket", conversation_id, now, **ticket)

    async def _ask_bot_rating(self, conversation_id: str) -> None:
        """The assistant alone served the customer and they are done: the same 1–5 rating,
        short and skippable; the conversation ends, by the assistant."""
        await self.store.set_meta(conversation_id, awaiting="rating", rating_of="bot")
        prompt, buttons = survey.ask_bot_rating()
        await self.store.append(
            conversation_id,
            ChatMessage(sender=Sender.bot, text=prompt, buttons=buttons, ts=now_ms()),
        )
        await self.store.feed("ended", conversation_id, self.engine.clock(), ended_by="bot")

    async def _survey(
        self, conversation_id: str, awaiting: str, text: str, payload: str | None
    ) -> bool:
        """True when the turn was the survey's answer (rating or comment)."""
        if awaiting == "rating":
            score = survey.parse_rating(text, payload)
            if score is None:
                # no rating: skipped, or the customer has moved on to something else
                await self.store.set_meta(conversation_id, awaiting="")
                return payload == survey.SKIP
            of = (await self.store.meta(conversation_id)).get("rating_of") or "agent"
            # the assistant's survey is the rating alone; an agent's asks for a comment too
            following = "" if of == "bot" else "comment"
            if await self.store.claim_awaiting(conversation_id, "rating", following):
                await self.store.record_rating(conversation_id, score)
                await self.store.feed(
                    "rating", conversation_id, self.engine.clock(),
                    rating=str(score), rating_of=of,
                )  # fmt: skip
                log.info(
                    "gateway.survey.rated conversation=%s score=%d of=%s",
                    short_hash(conversation_id),
                    score,
                    of,
                )
                if following:
                    prompt, buttons = survey.ask_comment()
                else:
                    prompt, buttons = survey.THANKS, []
                await self.store.append(
                    conversation_id,
                    ChatMessage(sender=Sender.bot, text=prompt, buttons=buttons, ts=now_ms()),
                )
            await self.push_state(conversation_id)
            return True
        if awaiting == "comment":
            if not await self.store.claim_awaiting(conversation_id, "comment", ""):
                return True
            if payload != survey.SKIP and text:
                await self.store.set_meta(conversation_id, comment=text[:1000])
                await self.store.feed(
                    "comment", conversation_id, self.engine.clock(), text=mask.text(text[:1000])
                )
            await self.store.append(
                conversation_id, ChatMessage(sender=Sender.bot, text=survey.THANKS, ts=now_ms())
            )
            await self.push_state(conversation_id)
            return True
        return False

    async def cancel_handoff(self, conversation_id: str) -> bool:
        """The customer gives up waiting: their queued or offered handoff is abandoned."""
        handoff = await self.store.active_handoff(conversation_id)
        if handoff is None or handoff.status not in ("queued", "offered"):
            return False
        await self.engine.abandon(handoff.handoff_id)
        return True

    async def push_state(self, conversation_id: str) -> ConversationState:
        state = await self.state(conversation_id)
        await self.store.publish_event(conversation_id, {"type": "state", **state.model_dump()})
        return state

    # -- agents -------------------------------------------------------------------------------
    async def agent_message(self, conversation_id: str, agent_id: str, text: str) -> str:
        """The assigned agent's message (the caller has checked their token)."""
        message = ChatMessage(
            sender=Sender.agent, text=text.strip()[: self.settings.max_text_chars], ts=now_ms()
        )
        # one round trip: checks the handoff is assigned to this agent, adds their display name
        return await self.store.agent_append(conversation_id, agent_id, message)

    # -- router events (one gateway process handles each) -------------------------------------
    async def on_router_event(self, fields: dict[str, str]) -> None:
        kind = fields.get("type", "")
        handoff_id = fields.get("handoff")
        if not handoff_id or kind not in _HANDLED:
            return
        (conversation_id,) = await self.store.handoff_fields(handoff_id, "conversation_id")
        if not conversation_id:
            return
        if kind == "created":
            await self.store.set_meta(conversation_id, handoff_id=handoff_id)
            position, wait = await self.store.queue_position(handoff_id)
            text = "正在为您转接人工客服，请稍候。"
            if position:
                text = (
                    f"正在为您转接人工客服，您前面还有 {position - 1} 位客户，{wait_text(wait)}。"
                )
            await self.store.append(conversation_id, system_message(text))
        elif kind == "accepted":
            agent_id = fields.get("agent", "")
            name = await self.store.agent_name(agent_id) or "人工客服"
            await self.store.set_meta(conversation_id, agent_id=agent_id, agent_name=name)
            await self.store.append(
                conversation_id,
                system_message(f"人工客服 {name} 已接入，为您服务。", agent_name=name),
            )
        elif kind == "completed":
            meta = await self.store.meta(conversation_id)
            (disposition,) = await self.store.handoff_fields(handoff_id, "disposition")
            await self.store.set_meta(
                conversation_id, awaiting="rating", disposition=disposition or "",
                rated_handoff=handoff_id, rating_of="agent",
            )  # fmt: skip
            now = self.engine.clock()
            await self.store.feed(
                "disposition", conversation_id, now, disposition=disposition or "",
                handoff=handoff_id, agent=fields.get("agent", ""),
            )  # fmt: skip
            await self.store.feed(
                "ended", conversation_id, now, ended_by="agent", handoff=handoff_id
            )
            prompt, buttons = survey.ask_rating(meta.get("agent_name"))
            await self.store.append(
                conversation_id,
                ChatMessage(sender=Sender.bot, text=prompt, buttons=buttons, ts=now_ms()),
            )
        elif kind == "abandoned":
            await self.store.append(conversation_id, system_message("已取消人工服务。"))
            await self.store.feed(
                "ended", conversation_id, self.engine.clock(), ended_by="customer",
                handoff=handoff_id,
            )  # fmt: skip
        elif kind in ("transferred", "rescued"):
            await self.store.append(
                conversation_id, system_message("正在为您转接其他人工客服，请稍候。")
            )
        await self.push_state(conversation_id)


_HANDLED = {
    "created",
    "accepted",
    "completed",
    "abandoned",
    "transferred",
    "rescued",
    "offered",
    "requeued",
}
