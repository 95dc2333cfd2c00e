"""Offers: the offered agent accepts or rejects."""

from __future__ import annotations

from fastapi import APIRouter

from router.api.deps import Caller, OfferIdPath, RuntimeDep
from router.auth import Role
from router.models import OfferAnswer

router = APIRouter(prefix="/v1/offers", tags=["offers"])


@router.post("/{offer_id}/accept", response_model=OfferAnswer)
async def accept_offer(offer_id: OfferIdPath, caller: Caller, rt: RuntimeDep) -> OfferAnswer:
    caller.require(Role.agent)
    assert caller.agent_id is not None
    handoff_id = await rt.engine.accept(offer_id, caller.agent_id)
    return OfferAnswer(offer_id=offer_id, handoff_id=handoff_id, status="accepted")


@router.post("/{offer_id}/reject", response_model=OfferAnswer)
async def reject_offer(offer_id: OfferIdPath, caller: Caller, rt: RuntimeDep) -> OfferAnswer:
    caller.require(Role.agent)
    assert caller.agent_id is not None
    handoff_id = await rt.engine.reject(offer_id, caller.agent_id)
    return OfferAnswer(offer_id=offer_id, handoff_id=handoff_id, status="rejected")
