"""Every entry point × every sending rule, through the whole daemon: simulated modems on real ptys,
the SQLite file, the HTTP API and the console's forms. What a phone of the simulated network
receives is the proof.

An entry point is one `EntryPoint` row: how it sends a text to a number (`send`), and which inputs
it takes (`takes`). A rule runs on every entry point that can express it; the rows that cannot are
listed in NOT_APPLICABLE with the reason, so a new entry point (an SMSEagle- or Android-gateway-
compatible API, issue 21) is one more row here and gets every rule by default.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gatewayd import keys
from gatewayd.accounts.users import create_first_admin
from gatewayd.clock import FakeClock
from gatewayd.store import optouts
from tests.outbound.conftest import Gateway, gateway, until

PASSWORD = "Correct-Horse-9"
CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')
TO = "+33612345678"
OTHER = "+33687654321"
SUNDAY = datetime(2026, 1, 4, 10, 0, tzinfo=timezone.utc)       # 11:00 in Paris: no marketing
MONDAY_0800 = datetime(2026, 1, 5, 7, 0, tzinfo=timezone.utc)
WEEKDAY = datetime(2026, 1, 6, 10, 0, tzinfo=timezone.utc)     # Tuesday 11:00 in Paris
FR_MENTION = "Répondez STOP pour vous désabonner"
EN_MENTION = "Reply STOP to unsubscribe"


@dataclass
class Outcome:
    """What an entry point did: the ids of the messages it queued, or the problem codes of a refusal
    (with the text a person reads, for the console)."""

    ids: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    shown: str = ""


@dataclass
class Ask:
    """One send: the text and options; `line` is where an inbound trigger arrives, or the line asked for."""

    text: str
    to: str = TO
    category: str = "transactional"
    variables: dict[str, str] | None = None
    personalise: bool = False
    transliterate: bool | None = None
    line: str | None = None
    # Run by entry points that send twice (a resend) between the first send and the one under test.
    between: Callable[[Gateway], Awaitable[None]] | None = None


class EntryPoint:
    name = ""
    # Inputs the entry point takes: "marketing", "variables", "personalise", "transliterate", "line".
    takes: frozenset[str] = frozenset()
    automatic = False  # an automatic answer: its text is configured, its trigger is an inbound event
    console = False    # a console form: refusals are read on the page, in French

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {}

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        raise NotImplementedError


async def _api(gw: Gateway, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = await gw.client.request(method, path, json=body, headers=gw.auth)
    return resp.status, await resp.json()


def _api_outcome(status: int, body: Any) -> Outcome:
    if status == 422:
        return Outcome(codes=[e.get("code", "") for e in body.get("errors", [])], shown=body["detail"])
    assert status in (200, 201, 202), body
    if "messages" in body:
        return Outcome(ids=[m["id"] for m in body["messages"]])
    return Outcome(ids=[body["id"]])


class ApiSingle(EntryPoint):
    name = "api-single"
    takes = frozenset({"marketing", "variables", "personalise", "transliterate", "line"})

    def body(self, ask: Ask) -> dict[str, Any]:
        body: dict[str, Any] = {"to": ask.to, "text": ask.text, "category": ask.category}
        if ask.variables is not None or ask.personalise:
            body["variables"] = ask.variables or {}
        if ask.transliterate is not None:
            body["transliterate"] = ask.transliterate
        if ask.line:
            body["modem"] = ask.line
        return body

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        return _api_outcome(*await _api(gw, "POST", "/api/v1/messages", self.body(ask)))


class ApiBulk(ApiSingle):
    name = "api-bulk"

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        body = self.body(ask)
        body["to"] = [ask.to, OTHER]
        out = _api_outcome(*await _api(gw, "POST", "/api/v1/messages", body))
        out.ids = out.ids[:1]  # the first recipient is the one the rule looks at
        return out


class ConsoleBrowser:
    """A signed-in console user over the gateway's own HTTP server (cookies, CSRF), in French."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.csrf = ""

    async def get(self, path: str) -> str:
        resp = await self.gw.client.get(path, headers={"Accept-Language": "fr"})
        body = await resp.text()
        found = CSRF_RE.search(body)
        if found:
            self.csrf = found.group(1)
        return body

    async def post(self, path: str, form: list[tuple[str, str]]) -> tuple[int, str, str]:
        resp = await self.gw.client.post(path, data=[("_csrf", self.csrf), *form], allow_redirects=False,
                                         headers={"Accept-Language": "fr"})
        return resp.status, await resp.text(), resp.headers.get("Location", "")

    @classmethod
    async def signed_in(cls, gw: Gateway) -> ConsoleBrowser:
        app = gw.app
        await create_first_admin(app[keys.DB], app[keys.CLOCK], "admin", PASSWORD, language="fr")
        browser = cls(gw)
        await browser.get("/login")
        status, body, _ = await browser.post("/login", [("name", "admin"), ("password", PASSWORD), ("next", "/")])
        assert status == 303, body
        return browser


def _console_outcome(status: int, body: str, location: str) -> Outcome:
    if status == 422:
        shown = " ".join(re.findall(r'class="(?:field-error|notice bad)"[^>]*>([^<]+)<', body))
        return Outcome(codes=["refused"], shown=html.unescape(shown))
    assert status == 303, body[:2000]
    found = re.match(r"/sent/(\d+)", location)
    return Outcome(ids=[int(found.group(1))] if found else [])


class ConsoleNewSms(EntryPoint):
    name = "console-new-sms"
    console = True
    takes = frozenset({"marketing", "personalise", "transliterate", "line"})

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        browser = await ConsoleBrowser.signed_in(gw)
        await browser.get("/sms/new")
        form = [("number", ask.to), ("text", ask.text), ("category", ask.category)]
        if ask.personalise:
            async with gw.app[keys.DB].read() as conn:
                await conn.execute("SELECT 1")
            status, tpl = await _api(gw, "POST", "/api/v1/templates", {"title": "t", "text": ask.text})
            assert status == 201, tpl
            form.append(("template", str(tpl["id"])))
        if ask.transliterate:
            form.append(("transliterate", "on"))
        if ask.line:
            form.append(("line", ask.line))
        return _console_outcome(*await browser.post("/sms/new", form))


async def _thread(gw: Gateway, ask: Ask, text: str = "Bonjour, une question") -> int:
    """The conversation with ask.to, started by an SMS it sends to ask.line (default line1)."""
    gw.network.deliver(ask.line or "line1", ask.to, text)
    found: list[int] = []

    async def poll() -> bool:
        _, body = await _api(gw, "GET", f"/api/v1/threads?q={ask.to}")
        found[:] = [t["id"] for t in body["threads"]]
        return bool(found)

    await _wait(poll, "the inbound SMS makes a thread")
    return found[0]


async def _wait(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out: {what}")
        await asyncio.sleep(0.02)


class ApiThreadReply(EntryPoint):
    name = "api-thread-reply"
    takes = frozenset({"line"})  # the line is the thread's (where the SMS came in)

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        thread = await _thread(gw, ask)
        return _api_outcome(*await _api(gw, "POST", f"/api/v1/threads/{thread}/reply", {"text": ask.text}))


class ConsoleThreadReply(EntryPoint):
    name = "console-thread-reply"
    console = True
    takes = frozenset({"line"})

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        thread = await _thread(gw, ask)
        browser = await ConsoleBrowser.signed_in(gw)
        await browser.get(f"/discussions/{thread}")
        status, body, location = await browser.post(f"/discussions/{thread}/reply", [("text", ask.text)])
        if status == 422:
            return _console_outcome(status, body, location)
        [row] = await gw.app[keys.OUTBOUND].list(limit=1, thread_id=thread)
        return Outcome(ids=[row.id])


class ApiResend(EntryPoint):
    """Resend of a failed message: the first attempt fails permanently on the modem."""

    name = "api-resend"
    takes = frozenset({"marketing", "variables", "personalise", "transliterate", "line"})

    async def failed_original(self, gw: Gateway, ask: Ask) -> Outcome:
        for modem in gw.modems:
            modem.fail_next(1)  # +CMS ERROR 1, unassigned number: permanent, fails at once
        first = await ApiSingle().send(gw, ask)
        if first.codes:  # refused: nothing was sent, so no failure is to come
            for modem in gw.modems:
                modem.faults.fail_submit.clear()
            return first
        await gw.wait_state(first.ids[0], "failed")
        return first

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        first = await self.failed_original(gw, ask)
        if first.codes:
            return first
        if ask.between is not None:
            await ask.between(gw)
        return _api_outcome(*await _api(gw, "POST", f"/api/v1/messages/{first.ids[0]}/resend"))


class ConsoleResend(ApiResend):
    name = "console-resend"
    console = True

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        first = await self.failed_original(gw, ask)
        if first.codes:
            return first
        if ask.between is not None:
            await ask.between(gw)
        browser = await ConsoleBrowser.signed_in(gw)
        await browser.get(f"/sent/{first.ids[0]}")
        return _console_outcome(*await browser.post(f"/sent/{first.ids[0]}/resend", []))


class Campaign(EntryPoint):
    name = "campaign"
    takes = frozenset({"marketing", "personalise", "line", "transliterate"})  # the switch is its template's

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {"campaigns": {"tick_seconds": 0.05}}

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        template: dict[str, Any] = {"title": "t", "text": ask.text}
        if ask.transliterate is not None:
            template["transliterate"] = ask.transliterate
        status, tpl = await _api(gw, "POST", "/api/v1/templates", template)
        if status == 422:
            return _api_outcome(status, tpl)
        assert status == 201, tpl
        body: dict[str, Any] = {"name": "matrix", "category": ask.category, "templates": {"default": tpl["id"]},
                                "audience": {"numbers": [ask.to]}}
        if ask.line:
            body["line"] = ask.line
        status, campaign = await _api(gw, "POST", "/api/v1/campaigns", body)
        if status == 422:
            return _api_outcome(status, campaign)
        cid = campaign["id"]
        status, launched = await _api(gw, "POST", f"/api/v1/campaigns/{cid}/schedule", {})
        assert status == 200, launched
        state: dict[str, Any] = {}

        async def handed_or_paused() -> bool:
            _, page = await _api(gw, "GET", f"/api/v1/campaigns/{cid}/recipients")
            _, now = await _api(gw, "GET", f"/api/v1/campaigns/{cid}")
            state.update(recipients=page["recipients"], campaign=now)
            return now["state"] in ("paused", "completed") or any(r.get("message_id") for r in page["recipients"]) \
                or any(r["outcome"].startswith("excluded") for r in page["recipients"])

        await _wait(handed_or_paused, "the campaign hands its recipient over")
        if state["campaign"]["state"] == "paused":
            return Outcome(codes=["paused"], shown=state["campaign"]["pause_reason"] or "")
        return Outcome(ids=[r["message_id"] for r in state["recipients"] if r.get("message_id")])


class Automatic(EntryPoint):
    """An automatic answer: its text is configured; an SMS or a call from ask.to triggers it on ask.line."""

    automatic = True
    takes = frozenset({"line"})
    kind = ""

    async def trigger(self, gw: Gateway, ask: Ask) -> None:
        raise NotImplementedError

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        await self.trigger(gw, ask)
        entries: list[dict[str, Any]] = []

        async def decided() -> bool:
            _, log = await _api(gw, "GET", "/api/v1/auto-replies/log")
            entries[:] = [e for e in log["answers"] if e["kind"] == self.kind]
            return bool(entries)

        await _wait(decided, f"the {self.kind} decision is logged")
        entry = entries[0]
        if entry.get("message_id"):
            return Outcome(ids=[entry["message_id"]])
        held = entry.get("held_back") or ""
        return Outcome(codes=re.findall(r"\b[a-z_]+\.[a-z_]+\b", held) or ["held"], shown=held)


class AutoReply(Automatic):
    name = "auto-reply"
    kind = "auto-reply"

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        status, rule = await _api(gw, "POST", "/api/v1/auto-replies", {"keyword": "HORAIRES", "reply": ask.text})
        if status == 422:  # the rule itself is refused (the same composition checks it)
            return _api_outcome(status, rule)
        assert status == 201, rule
        return await super().send(gw, ask)

    async def trigger(self, gw: Gateway, ask: Ask) -> None:
        gw.network.deliver(ask.line or "line1", ask.to, "horaires ?")


class StopConfirmation(Automatic):
    name = "stop-confirmation"
    kind = "optout-confirm"

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {"optout": {"confirm_text": ask.text}}

    async def trigger(self, gw: Gateway, ask: Ask) -> None:
        gw.network.deliver(ask.line or "line1", ask.to, "STOP")


class StartConfirmation(Automatic):
    name = "start-confirmation"
    kind = "optin-confirm"

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {"optout": {"resubscribe_text": ask.text}}

    async def trigger(self, gw: Gateway, ask: Ask) -> None:
        async with gw.app[keys.DB].write() as conn:
            await optouts.record(conn, number=ask.to, action="out", source="console", now=gw.app[keys.CLOCK].now())
        gw.network.deliver(ask.line or "line1", ask.to, "START")


class MissedCall(Automatic):
    name = "missed-call"
    kind = "missed-call"

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {"inbound": {"missed_call_text": ask.text}}

    async def trigger(self, gw: Gateway, ask: Ask) -> None:
        modem = next(m for m in gw.modems if m.name == (ask.line or "line1"))
        await modem.ring(ask.to, 2, interval=0.05)


class SmsEagleJsonRpc(EntryPoint):
    """SMSEagle's JSON-RPC (issue 21): literal text; its sends' category is `[smseagle] category`;
    `unicode=0` asks for GSM-7 look-alikes; `modem_no` is the N-th line."""

    name = "smseagle-jsonrpc"
    takes = frozenset({"marketing", "transliterate", "line"})
    section = "smseagle"

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {self.section: {"category": ask.category}}

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        params: dict[str, Any] = {"access_token": gw.token, "to": ask.to, "message": ask.text,
                                  "responsetype": "extended"}
        if ask.transliterate is not None:
            params["unicode"] = 0 if ask.transliterate else 1
        if ask.line:
            params["modem_no"] = int(ask.line.removeprefix("line"))
        resp = await gw.client.post("/jsonrpc/sms", json={"method": "sms.send_sms", "params": params})
        result = (await resp.json())["result"]
        if isinstance(result, dict):  # SMSEagle's error shape
            return Outcome(codes=[result.get("error_code", "")], shown=result["error_text"])
        return Outcome(ids=[int(r["message_id"]) for r in result])


class SmsEagleV2(SmsEagleJsonRpc):
    name = "smseagle-v2"

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        body: dict[str, Any] = {"to": [ask.to], "text": ask.text}
        if ask.transliterate is not None:
            body["encoding"] = "standard" if ask.transliterate else "unicode"
        if ask.line:
            body["modem_no"] = int(ask.line.removeprefix("line"))
        resp = await gw.client.post("/api/v2/messages/sms", json=body, headers={"access-token": gw.token})
        answer = await resp.json()
        if resp.status == 422:
            return Outcome(codes=[e.get("code", "") for e in answer["errors"]], shown=answer["detail"])
        assert resp.status == 200, answer
        return Outcome(ids=[m["id"] for m in answer])


class AndroidGateway(EntryPoint):
    """SMS Gateway for Android's API through its official client (issue 21): `simNumber` is the N-th
    line; its sends' category is `[android_gateway] category`."""

    name = "android-gateway"
    takes = frozenset({"marketing", "line"})

    def sections(self, ask: Ask) -> dict[str, Any]:
        return {"android_gateway": {"category": ask.category}}

    async def send(self, gw: Gateway, ask: Ask) -> Outcome:
        from android_sms_gateway import AsyncAPIClient, domain
        from android_sms_gateway.errors import APIError

        base = f"http://127.0.0.1:{gw.client.server.port}/3rdparty/v1"
        message = domain.Message(phone_numbers=[ask.to], text_message=domain.TextMessage(text=ask.text),
                                 sim_number=int(ask.line.removeprefix("line")) if ask.line else None)
        async with AsyncAPIClient("test", gw.token, base_url=base) as api:
            try:
                await api.send(message)
            except APIError as exc:
                resp = await gw.client.post("/3rdparty/v1/messages", json=message.asdict(), headers=gw.auth)
                problem = await resp.json()  # the same refusal, read with its codes
                assert resp.status == exc.status_code == 422, problem
                return Outcome(codes=[e.get("code", "") for e in problem["errors"]], shown=problem["detail"])
        # That API names a send by the client's id; the ledger's id of this one is the newest message.
        [row] = await gw.app[keys.OUTBOUND].list(limit=1)
        return Outcome(ids=[row.id])


ENTRY_POINTS: list[EntryPoint] = [
    ApiSingle(), ApiBulk(), ConsoleNewSms(), ApiThreadReply(), ConsoleThreadReply(), ApiResend(), ConsoleResend(),
    Campaign(), AutoReply(), StopConfirmation(), StartConfirmation(), MissedCall(),
    SmsEagleJsonRpc(), SmsEagleV2(), AndroidGateway(),
]


# ---------------------------------------------------------------------------------------- the world


@dataclass
class World:
    gw: Gateway
    clock: FakeClock

    async def received(self, ids: list[int], number: str = TO) -> tuple[str, str]:
        """(text, line) of what the phone got for the entry point's message."""
        assert ids, "the entry point queued nothing"
        row = await self.gw.wait_state(ids[0], "sent", "delivered")
        await until(lambda: bool(self.gw.network.received_by(number)), 10, "the phone receives it")
        got = [r for r in self.gw.network.received_by(number) if r.text == row["text"]]
        assert got, (row["text"], [r.text for r in self.gw.network.received_by(number)])
        return got[-1].text, got[-1].line


async def contact(gw: Gateway, *, language: str | None, first_name: str = "Zoé", **fields: str) -> None:
    """The recipient's contact record (and OTHER's, the second recipient of a bulk send)."""
    for name in fields:
        status, body = await _api(gw, "POST", "/api/v1/contact-fields", {"name": name})
        assert status in (200, 201), body
    status, body = await _api(gw, "POST", "/api/v1/contacts", {"mobile": OTHER, "first_name": "Paul",
                                                                "fields": {k: "Paris" for k in fields} or None})
    assert status == 201, body
    status, body = await _api(gw, "POST", "/api/v1/contacts", {"mobile": TO, "first_name": first_name,
                                                                "language": language, "fields": fields or None})
    assert status == 201, body


async def run(ep: EntryPoint, ask: Ask, tmp_path: Path, *, sections: dict[str, Any] | None = None,
              lines: int = 1, clock: FakeClock | None = None,
              before: Callable[[Gateway], Awaitable[None]] | None = None) -> tuple[World, Outcome]:
    """Start the daemon for `ep`, then send `ask` through it; the world stays up for the checks."""
    merged: dict[str, Any] = {}
    for part in (sections or {}), ep.sections(ask):
        for name, values in part.items():
            merged.setdefault(name, {}).update(values)
    fake = clock or FakeClock(WEEKDAY)
    stack = gateway(tmp_path, lines=lines, clock=fake, sections=merged)
    gw = await stack.__aenter__()
    OPEN.append(stack)
    if before is not None:
        await before(gw)
    return World(gw, fake), await ep.send(gw, ask)


OPEN: list[Any] = []


@pytest.fixture(autouse=True)
async def _close_gateways() -> Any:
    yield
    while OPEN:
        await OPEN.pop().__aexit__(None, None, None)


def rows(rule: str, needs: str | None = None, *, automatic: bool = True) -> list[Any]:
    """Every entry point, minus those NOT_APPLICABLE lists for `rule` (each with its reason)."""
    out = []
    for ep in ENTRY_POINTS:
        if (ep.name, rule) in NOT_APPLICABLE:
            continue
        if needs is not None and needs not in ep.takes:
            continue
        if not automatic and ep.automatic:
            continue
        out.append(pytest.param(ep, id=ep.name))
    return out


# (entry point, rule) pairs a rule cannot apply to, and why. Everything else runs.
NOT_APPLICABLE = {
    ("api-thread-reply", "stop-mention"): "a reply is conversation: always transactional",
    ("console-thread-reply", "stop-mention"): "a reply is conversation: always transactional",
    ("stop-confirmation", "opt-out"): "the STOP confirmation goes to a number that just opted out, on purpose",
    ("start-confirmation", "opt-out"): "a START confirmation goes to a number that just opted back in",
    ("api-resend", "segment-cap"): "a resend re-sends a text that passed the cap when it was first composed",
    ("console-resend", "segment-cap"): "a resend re-sends a text that passed the cap when it was first composed",
    ("campaign", "literal"): "a campaign always personalises its template",
    ("console-new-sms", "literal"): "office staff type {first_name} meaning the contact's: New SMS personalises",
    ("api-resend", "unresolved"): "a resend re-sends a text that was personalised when first composed",
    ("console-resend", "unresolved"): "a resend re-sends a text that was personalised when first composed",
}


def _category(ep: EntryPoint) -> str:
    return "marketing" if "marketing" in ep.takes else "transactional"


async def _nothing_reached(world: World, number: str = TO) -> None:
    """Nothing went to `number`: a control SMS sent after it on the same line arrives alone."""
    _, body = await _api(world.gw, "POST", "/api/v1/messages",
                         {"to": OTHER, "text": "control", "category": "transactional"})
    await world.gw.wait_state(body["messages"][0]["id"], "delivered")
    assert [r.text for r in world.gw.network.received_by(number)] == []


# ------------------------------------------------------------------------------------------ the rules


@pytest.mark.parametrize("language, mention", [("fr", FR_MENTION), ("en", EN_MENTION), (None, FR_MENTION)],
                         ids=["contact-fr", "contact-en", "site-language"])
@pytest.mark.parametrize("ep", rows("stop-mention"))
async def test_stop_mention(ep: EntryPoint, language: str | None, mention: str, tmp_path: Path) -> None:
    """Every marketing SMS ends with the STOP mention in its reader's language; a transactional one never."""
    async def before(gw: Gateway) -> None:
        if language is not None:
            await contact(gw, language=language)

    category = _category(ep)
    world, out = await run(ep, Ask("Soldes : -20% ce week-end", category=category), tmp_path, before=before)
    text, _ = await world.received(out.ids)
    if category == "marketing":
        assert text == f"Soldes : -20% ce week-end\n{mention}"
    else:
        assert text == "Soldes : -20% ce week-end"


@pytest.mark.parametrize("ep", rows("variables-given", "variables"))
async def test_variables_given_for_this_send(ep: EntryPoint, tmp_path: Path) -> None:
    world, out = await run(ep, Ask("Votre code {code}, {first_name}", variables={"code": "4242"}), tmp_path,
                           before=lambda gw: contact(gw, language="fr"))
    assert (await world.received(out.ids))[0] == "Votre code 4242, Zoé"


@pytest.mark.parametrize("ep", rows("variables-contact", "personalise"))
async def test_variables_from_the_contact_record_and_defaults(ep: EntryPoint, tmp_path: Path) -> None:
    ask = Ask("Bonjour {first_name} de {ville}, {titre|cher client}", personalise=True)
    world, out = await run(ep, ask, tmp_path, before=lambda gw: contact(gw, language="fr", ville="Lyon"))
    assert (await world.received(out.ids))[0] == "Bonjour Zoé de Lyon, cher client"


@pytest.mark.parametrize("ep", rows("literal"))
async def test_without_personalisation_the_text_is_literal(ep: EntryPoint, tmp_path: Path) -> None:
    world, out = await run(ep, Ask("Code {ABC} pour {first_name}"), tmp_path,
                           before=lambda gw: contact(gw, language="fr"))
    assert (await world.received(out.ids))[0] == "Code {ABC} pour {first_name}"


@pytest.mark.parametrize("ep", rows("unresolved", "personalise"))
async def test_an_unresolved_variable_is_refused_naming_it_and_the_recipient(ep: EntryPoint, tmp_path: Path) -> None:
    world, out = await run(ep, Ask("Bonjour {surnom}", personalise=True), tmp_path)
    assert not out.ids
    assert "surnom" in out.shown and "+33612345678" in out.shown, out
    if ep.console:
        assert "n'a pas de valeur" in out.shown  # in the page's language, from the catalogue
    elif not isinstance(ep, Campaign):
        assert "variable.unresolved" in out.codes
    await _nothing_reached(world)


@pytest.mark.parametrize("ep", rows("transliteration"))
async def test_transliteration(ep: EntryPoint, tmp_path: Path) -> None:
    """Per send where the entry point offers the switch, else the site default."""
    per_send = "transliterate" in ep.takes
    ask = Ask("Hôtel « Léo » – l’été", transliterate=True if per_send else None, personalise=False)
    sections = {} if per_send else {"sending": {"transliterate": True}}
    world, out = await run(ep, ask, tmp_path, sections=sections)
    text, _ = await world.received(out.ids)
    assert text.startswith("Hotel \" Léo \" - l'été"), text


@pytest.mark.parametrize("ep", rows("segment-cap"))
async def test_segment_cap(ep: EntryPoint, tmp_path: Path) -> None:
    world, out = await run(ep, Ask("x" * 200, category=_category(ep)), tmp_path, sections={"sending": {"max_segments": 1}})
    assert not out.ids, out
    if ep.console:
        assert "SMS" in out.shown and "au plus" in out.shown, out.shown  # French, from the catalogue
    elif not isinstance(ep, Campaign):
        assert "text.too_long" in out.codes or "segments" in out.shown, out
    await _nothing_reached(world)


@pytest.mark.parametrize("ep", rows("opt-out"))
async def test_opt_out(ep: EntryPoint, tmp_path: Path) -> None:
    """An opted-out number gets no marketing, and nothing at all under scope "all"."""
    category = _category(ep)
    sections = {} if category == "marketing" else {"optout": {"scope": "all"}}

    async def opted_out(gw: Gateway) -> None:
        status, body = await _api(gw, "POST", "/api/v1/opt-outs", {"number": TO})
        assert status in (200, 201), body

    resend = isinstance(ep, ApiResend)  # opted out after the first attempt failed: the resend is what is stopped
    ask = Ask("Promo", category=category, between=opted_out if resend else None)
    world, out = await run(ep, ask, tmp_path, sections=sections, before=None if resend else opted_out)
    if out.ids:
        assert (await world.gw.message(out.ids[0]))["state"] == "blocked"
    await _nothing_reached(world)


@pytest.mark.parametrize("ep", rows("quiet-hours"))
async def test_quiet_hours(ep: EntryPoint, tmp_path: Path) -> None:
    """Marketing waits for the window (a Sunday here); everything else goes at once."""
    category = _category(ep)
    clock = FakeClock(WEEKDAY)

    async def sunday(gw: Gateway) -> None:
        clock.set(SUNDAY)

    resend = isinstance(ep, ApiResend)  # the first attempt fails on a weekday; the resend is on Sunday
    world, out = await run(ep, Ask("Nouveautés", category=category, between=sunday if resend else None), tmp_path,
                           clock=clock, sections={"quiet_hours": {"enabled": True}},
                           before=None if resend else sunday)
    if category == "marketing":
        await _nothing_reached(world)
        assert (await world.gw.message(out.ids[0]))["state"] == "queued"
        clock.set(MONDAY_0800)
        world.gw.kick()
    text, _ = await world.received(out.ids)
    assert text.startswith("Nouveautés")


@pytest.mark.parametrize("ep", rows("line-choice", "line"))
async def test_line_choice(ep: EntryPoint, tmp_path: Path) -> None:
    """The line asked for (or the thread's, or the one an automatic answer's trigger came in on)."""
    world, out = await run(ep, Ask("Bien reçu", line="line2"), tmp_path, lines=2)
    _, line = await world.received(out.ids)
    assert line == "line2"


@pytest.mark.parametrize("ep", [pytest.param(ApiSingle(), id="api"), pytest.param(ConsoleNewSms(), id="console")])
async def test_an_unknown_line_is_refused(ep: EntryPoint, tmp_path: Path) -> None:
    world, out = await run(ep, Ask("Bien reçu", line="line9"), tmp_path)
    assert not out.ids and "line9" in out.shown, out
