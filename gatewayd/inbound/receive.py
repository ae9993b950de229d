"""Storing received parts and turning them into whole messages, inside the caller's transaction.

A part is committed (with its raw PDU) before the driver deletes it from the modem. A long
message becomes a message once all its parts are stored — parts wait in the database, so a restart
in between loses nothing. A group still incomplete after the timeout is kept with a visible marker;
a part that comes later still completes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.inbound.parts import PartText, assemble, dedup_key
from gatewayd.modem.events import IncomingSms
from gatewayd.phone import mask
from gatewayd.store import inbound, threads
from gatewayd.store.inbound import InboundMessage, Part

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """What one received part led to."""

    duplicate: bool = False
    waiting: bool = False                                  # part of a long message, rest not here yet
    new_messages: tuple[InboundMessage, ...] = ()          # messages created (a stale group may be flushed too)
    completed: InboundMessage | None = None                # an incomplete message a late part completed more
    part_id: int | None = None


async def receive_part(conn: aiosqlite.Connection, sms: IncomingSms, *, sender: str, now: datetime) -> Received:
    """Store `sms` (sender already normalised) and assemble what can be assembled."""
    concat = (sms.concat.reference, sms.concat.total, sms.concat.sequence) if sms.concat else None
    key = dedup_key(line=sms.line, sender=sender, smsc_time=sms.smsc_time, concat=concat, text=sms.text,
                    pdu=sms.pdu_hex, slot=sms.slot)
    part_id = await inbound.add_part(conn, line=sms.line, sender=sender, smsc_time=sms.smsc_time, concat=concat,
                                     text=sms.text, pdu=sms.pdu_hex, undecodable=sms.undecodable, dedup_key=key,
                                     now=now)
    if part_id is None:
        log.info("%s: duplicate SMS part from %s ignored (already stored)", sms.line, mask(sender))
        return Received(duplicate=True)
    if sms.undecodable:
        log.warning("%s: undecodable SMS from %s kept raw (part %d): %s", sms.line, mask(sender) if sender else "?",
                    part_id, sms.undecodable)
    if concat is None or concat[1] <= 1:
        message = await _create(conn, line=sms.line, sender=sender, text=sms.text, smsc_time=sms.smsc_time,
                                total=1, missing=(), ref=None, undecodable=sms.undecodable, part_ids=[part_id],
                                now=now)
        return Received(new_messages=(message,), part_id=part_id)
    return await _long_part(conn, sms, sender=sender, part_id=part_id, concat=concat, now=now)


async def release_slot(conn: aiosqlite.Connection, sms: IncomingSms, *, sender: str) -> bool:
    """`sms` was deleted from its modem slot: its key stops matching, so the next message stored
    there is kept even if it is the same bytes. False when nothing was keyed on that slot."""
    if sms.slot is None:
        return False
    concat = (sms.concat.reference, sms.concat.total, sms.concat.sequence) if sms.concat else None
    key = dedup_key(line=sms.line, sender=sender, smsc_time=sms.smsc_time, concat=concat, text=sms.text,
                    pdu=sms.pdu_hex, slot=sms.slot)
    return await inbound.release_key(conn, key)


async def _long_part(conn: aiosqlite.Connection, sms: IncomingSms, *, sender: str, part_id: int,
                     concat: tuple[int, int, int], now: datetime) -> Received:
    ref, total, seq = concat
    group = await inbound.waiting_group(conn, line=sms.line, sender=sender, ref=ref, total=total)
    created: list[InboundMessage] = []
    older = [p for p in group if p.id != part_id]
    if any(p.concat_seq == seq for p in older):
        # The reference came round again while an older message with it still waited: that older
        # one will never complete now, keep it as it is and start afresh with this part.
        created.append(await _flush(conn, older, now=now))
        group = [p for p in group if p.id == part_id]
    if len({p.concat_seq for p in group}) == total:
        created.append(await _from_parts(conn, group, now=now))
        return Received(new_messages=tuple(created), part_id=part_id)
    if len(group) == 1:
        late = await inbound.incomplete_waiting_for(conn, line=sms.line, sender=sender, ref=ref, total=total, seq=seq)
        if late is not None:
            return Received(new_messages=tuple(created), completed=await _complete_late(conn, late, group[0]),
                            part_id=part_id)
    return Received(waiting=True, new_messages=tuple(created), part_id=part_id)


async def flush_stale(conn: aiosqlite.Connection, *, older_than: datetime, now: datetime) -> list[InboundMessage]:
    """Keep every long message whose first part came before `older_than` as it is (incomplete)."""
    out = []
    for line, sender, ref, total in await inbound.stale_groups(conn, older_than=older_than):
        group = await inbound.waiting_group(conn, line=line, sender=sender, ref=ref, total=total)
        if group:
            out.append(await _flush(conn, group, now=now))
    return out


async def _flush(conn: aiosqlite.Connection, group: list[Part], *, now: datetime) -> InboundMessage:
    message = await _from_parts(conn, group, now=now)
    log.warning("%s: long SMS from %s kept incomplete, parts %s of %d never came", message.line,
                mask(message.sender), ",".join(map(str, message.parts_missing)), message.parts_total)
    return message


async def _from_parts(conn: aiosqlite.Connection, group: list[Part], *, now: datetime) -> InboundMessage:
    first = group[0]
    total = first.concat_total or 1
    by_seq = {p.concat_seq: PartText(p.text, p.undecodable) for p in group if p.concat_seq is not None}
    text, missing = assemble(by_seq, total)
    reasons = sorted({p.undecodable for p in group if p.undecodable})
    times = [p.smsc_time for p in group if p.smsc_time is not None]
    return await _create(conn, line=first.line, sender=first.sender, text=text, smsc_time=min(times) if times else None,
                         total=total, missing=missing, ref=first.concat_ref, undecodable="; ".join(reasons) or None,
                         part_ids=[p.id for p in group], now=now)


async def _complete_late(conn: aiosqlite.Connection, message: InboundMessage, part: Part) -> InboundMessage:
    await inbound.attach_parts(conn, [part.id], message.id)
    parts = await inbound.parts_of(conn, message.id)
    by_seq = {p.concat_seq: PartText(p.text, p.undecodable) for p in parts if p.concat_seq is not None}
    text, missing = assemble(by_seq, message.parts_total)
    await inbound.complete_more(conn, message.id, text=text, parts_missing=missing)
    log.info("%s: late part %s/%d completes message %d", message.line, part.concat_seq, message.parts_total,
             message.id)
    updated = await inbound.get_in(conn, message.id)
    assert updated is not None
    return updated


async def _create(conn: aiosqlite.Connection, *, line: str, sender: str, text: str, smsc_time: datetime | None,
                  total: int, missing: tuple[int, ...], ref: int | None, undecodable: str | None,
                  part_ids: list[int], now: datetime) -> InboundMessage:
    # A PDU whose sender could not even be read belongs to no conversation, but is still listed.
    thread_id = await threads.touch_inbound(conn, number=sender, line=line, text=text, at=now) if sender else None
    message_id = await inbound.add_message(conn, thread_id=thread_id, line=line, sender=sender, text=text,
                                           smsc_time=smsc_time, received_at=now, parts_total=total,
                                           parts_missing=missing, concat_ref=ref, undecodable=undecodable)
    await inbound.attach_parts(conn, part_ids, message_id)
    message = await inbound.get_in(conn, message_id)
    assert message is not None
    return message
