"""Services' problems reach French console users in French, values and all; the API keeps English and the code.

The services raise stable codes with parameters (gatewayd.problems); the console words them from its
catalogue (`problem.<code>`), the API in English. Nothing translates English sentences back: a scan of the
services' source finds no English sentence raised without a code."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import FormData

import gatewayd
from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.accounts.passwords import policy_problems
from console import i18n
from gatewayd.contacts.analysis import validate_mapping
from gatewayd.contacts.numbers import check_number
from gatewayd.phone import _REASONS
from gatewayd.problems import ENGLISH

from tests.contacts.test_import_files import ole2_with_streams
from .conftest import Console, add_user

ROOT = Path(gatewayd.__file__).parent
CONSOLE = Path(i18n.__file__).parent
SCANNED = [ROOT / "contacts", ROOT / "campaigns", ROOT / "accounts", ROOT / "inbound", CONSOLE / "views",
           ROOT / "phone.py", ROOT / "store" / "backup.py", ROOT / "email", ROOT / "live_settings.py",
           ROOT / "line_identity.py"]
# Errors a console page shows (as field errors or the page's notice) and the exceptions whose str()
# the services turn into such an error (file readers, template syntax, phone numbers).
# Errors raised with a stable code (`code=...`, and TemplateSyntaxError's) carry no English to match:
# tests/outbound/test_compose_pure.py checks every code has its wording in both catalogues.
MESSAGE_ARG = {"InvalidInput": 1, "Conflict": 0, "NotFound": 0, "Forbidden": 0, "PayloadTooLarge": 0,
               "ServiceUnavailable": 0, "FileProblem": 0, "InvalidNumber": 0}
# Messages whose values are built into a variable first, so the f-string alone does not show the
# text: one real example each (the shape is what the f-string gives).
EXAMPLES = {
    "{}: bytes not valid {} ({})": "line 12: bytes not valid UTF-8 (invalid start byte)",
}
# Messages whose last value is a fixed word given by each caller: a sentence per word, checked by
# test_campaign_state_conflicts_have_a_text_per_action.
PER_CALLER = {"campaign {} is {} and cannot be {}"}
# Messages deliberately left in English, with why. Keep this short: each one is a French user
# reading English.
LEFT_IN_ENGLISH: dict[str, str] = {}


def shape(pattern: str) -> str:
    """A str.format pattern with its placeholders anonymised: 'group {id} exists' -> 'group {} exists'."""
    out = []
    for text, name, _, _ in string.Formatter().parse(pattern):
        out.append(text.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            out.append("{}")
    return "".join(out)


def source_messages(scanned: list[Path] = SCANNED) -> Iterator[tuple[str, str, str]]:
    """(where, shape, example) for every literal or f-string message raised in the scanned modules."""
    files = [p for root in scanned for p in ([root] if root.is_file() else sorted(root.rglob("*.py")))]
    for path in files:
        tree = ast.parse(path.read_text("utf-8"))
        # Module-level message constants, raised by name (readers.DAMAGED_WORKBOOK).
        constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                     for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            arg = _message_arg(node)
            if isinstance(arg, ast.Name):
                arg = constants.get(arg.id)
            if arg is None:
                continue
            where = f"{path.relative_to(path.parents[2])}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if arg.value in ENGLISH:
                    continue  # a stable code (FileProblem("file.empty"), TimingProblem(field, "timing.kind"))
                yield where, arg.value.replace("{", "{{").replace("}", "}}"), arg.value
            elif isinstance(arg, ast.JoinedStr):
                pieces, example = [], []
                for i, part in enumerate(arg.values):
                    if isinstance(part, ast.Constant):
                        pieces.append(str(part.value).replace("{", "{{").replace("}", "}}"))
                        example.append(str(part.value))
                    else:
                        pieces.append("{}")
                        example.append(f"v{i}x")
                form = "".join(pieces)
                yield where, form, EXAMPLES.get(form, "".join(example))


def _message_arg(node: ast.AST) -> ast.expr | None:
    """The message argument of an error construction, of `problems.append(...)`, or of a list of problems."""
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in MESSAGE_ARG:
            if any(k.arg in ("code", "problems") for k in node.keywords):
                return None  # a coded problem: worded by the catalogue's problem.<code>
            index = MESSAGE_ARG[name]
            if len(node.args) > index:
                return node.args[index]
            return next((k.value for k in node.keywords if k.arg == "detail"), None)
        if name == "append" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "problems" and node.args:
            return node.args[0]
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == "problems" \
            and isinstance(node.value, ast.ListComp):
        return node.value.elt
    return None


FR = i18n.catalog("fr")
SOURCES = sorted(set(source_messages()))


def test_the_scan_finds_english_messages(tmp_path: Path) -> None:
    # Guards the scan itself: were the walk to find nothing, the next test would pass on nothing.
    (tmp_path / "a" / "b").mkdir(parents=True)
    source = tmp_path / "a" / "b" / "svc.py"
    source.write_text('WORDS = "the workbook is damaged"\n'
                      'def f(name):\n'
                      '    raise Conflict(f"a group named {name!r} exists already")\n'
                      '    raise InvalidInput("name", "a group needs a name")\n'
                      '    raise FileProblem(WORDS)\n'
                      '    raise FileProblem("file.empty")\n'
                      '    raise InvalidInput("name", code="group.name_required")\n', "utf-8")
    found = sorted(form for _, form, _ in source_messages([source]))
    assert found == ["a group named {} exists already", "a group needs a name", "the workbook is damaged"]


def test_the_services_raise_codes_not_english() -> None:
    # Every refusal of these services carries a stable code the console words from its catalogue:
    # none is an English sentence to be translated back.
    left = [(where, form) for where, form, _ in SOURCES if form not in PER_CALLER and form not in LEFT_IN_ENGLISH]
    assert left == []


def test_every_raised_code_has_its_wording() -> None:
    # FileProblem("file.x") and friends name their code as a bare string: each must be a known code.
    codes = set()
    for path in [p for root in SCANNED for p in ([root] if root.is_file() else sorted(root.rglob("*.py")))]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                codes |= {k.value.value for k in node.keywords if k.arg == "code"
                          and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)}
    assert len(codes) > 60
    for code in codes:
        assert code in ENGLISH, code
        for lang in ("fr", "en"):
            assert f"problem.{code}" in i18n.catalog(lang), (lang, code)


def test_campaign_state_conflicts_have_a_text_per_action() -> None:
    # The action is an argument of _state_conflict(), so each literal action gets its own sentence.
    tree = ast.parse((ROOT / "campaigns" / "service.py").read_text("utf-8"))
    actions = [node.args[2].value for node in ast.walk(tree)
               if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr == "_state_conflict" and isinstance(node.args[2], ast.Constant)]
    assert len(actions) >= 6
    for action in actions:  # now a code per action (campaign.cannot_<action>), worded by the catalogue
        french = i18n.word_problem("fr", f"campaign.cannot_{action}", {"id": 7, "state": "running"})
        assert french.startswith("la campagne n°7 est à l'état « en cours » : elle ne peut pas"), (action, french)


def test_phone_number_reasons_are_known() -> None:
    for reason in [*_REASONS.values(), "phone.empty", "phone.wrong_length", "phone.not_valid_for_country"]:
        assert reason in ENGLISH and f"problem.{reason}" in FR


def test_password_problems_are_worded_piece_by_piece() -> None:
    problems = policy_problems("")
    assert len(problems) == 5
    assert i18n.word_problem("fr", "password.weak", {"missing": problems}) == (
        "Il manque au mot de passe : au moins 8 caractères, une majuscule, une minuscule, un chiffre,"
        " un caractère spécial.")
    # A common password is said to be common (the console's word matching used to call it "a digit").
    assert i18n.word_problem("fr", "password.weak", {"missing": policy_problems("Azerty123!")}) == (
        "Il manque au mot de passe : un mot de passe moins courant (pas un mot connu entouré de chiffres ou"
        " de symboles, comme Passw0rd! ou Azerty123!).")


def test_mapping_problems_are_worded_one_by_one() -> None:
    # A field name holding "; " stays whole: each problem is its own code, never a joined sentence.
    problems = validate_mapping(("field:a; b", "first_name", "first_name"), 4)
    assert [p.code for p in problems] == ["mapping.entries", "mapping.one_mobile", "mapping.bad_field_name",
                                          "mapping.duplicate_target"]
    assert [i18n.word_problem("fr", p.code, p.params) for p in problems] == [
        "la correspondance des colonnes a 3 entrées pour 4 colonnes",
        "une colonne et une seule doit être associée au mobile",
        "« a; b » n'est pas un nom de champ utilisable (lettres, chiffres, _ ; pas un nom réservé)",
        "« first_name » est choisi pour plusieurs colonnes"]
    assert problems[2].english() == "'a; b' is not a usable field name (letters, digits, _; not a built-in)"


# --- through the real console -----------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


async def test_group_name_conflict_is_shown_in_french_and_escaped(admin: Console) -> None:
    fr = {"Accept-Language": "fr-FR,fr;q=0.9"}
    await admin.get("/groups/new", headers=fr)
    status, _, _ = await admin.post("/groups/new", {"name": SCRIPT, "kind": "static"}, headers=fr)
    assert status == 303
    await admin.get("/groups/new", headers=fr)
    status, body, _ = await admin.post("/groups/new", {"name": SCRIPT, "kind": "static"}, headers=fr)
    assert status == 422
    assert "un groupe nommé « &lt;script&gt;alert(1)&lt;/script&gt; » existe déjà" in body
    assert SCRIPT not in body and "exists already" not in body


async def test_the_same_conflict_stays_english_for_an_english_user_and_in_the_api(admin: Console) -> None:
    en = {"Accept-Language": "en"}
    await admin.get("/groups/new", headers=en)
    await admin.post("/groups/new", {"name": "Clients", "kind": "static"}, headers=en)
    await admin.get("/groups/new", headers=en)
    status, body, _ = await admin.post("/groups/new", {"name": "Clients", "kind": "static"}, headers=en)
    assert status == 422 and "a group named ‘Clients’ exists already" in body
    key = await create_key(admin.app[keys.DB], admin.app[keys.CLOCK], "test", {"send"})
    resp = await admin.client.post("/api/v1/groups", json={"name": "Clients"},
                                   headers={"Authorization": f"Bearer {key.token}", "Accept-Language": "fr"})
    problem = await resp.json()
    assert resp.status == 409 and problem["detail"] == "a group named 'Clients' exists already"
    assert problem["errors"][0]["code"] == "group.exists" and problem["errors"][0]["params"] == {"name": "Clients"}


async def test_user_name_conflict_is_shown_in_french(admin: Console) -> None:
    await add_user(admin, "bob", "viewer")
    await admin.get("/settings/users")
    status, body, _ = await admin.post("/settings/users", {"name": "bob", "role": "viewer",
                                                           "password": "Correct-Horse-9", "confirm": "Correct-Horse-9"})
    assert status == 422
    assert "un utilisateur nommé « bob » existe déjà" in body and "exists already" not in body


async def test_a_refused_upload_says_why_in_french(admin: Console) -> None:
    fr = {"Accept-Language": "fr"}
    await admin.get("/imports", headers=fr)
    form = FormData()
    form.add_field("_csrf", admin.csrf)
    form.add_field("file", ole2_with_streams("EncryptionInfo", "EncryptedPackage"), filename="clients.xlsx",
                   content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp = await admin.client.post("/imports", data=form, headers=fr, allow_redirects=False)
    body = await resp.text()
    assert resp.status == 422, body
    assert "le classeur est protégé par un mot de passe" in body and "protected" not in body


async def test_an_error_page_shows_the_service_message_in_french(admin: Console) -> None:
    status, body = await admin.get("/groups/98765", headers={"Accept-Language": "fr"})
    assert status == 404 and "le groupe n°98765 n&#39;existe pas" in body and "does not exist" not in body


def test_outbound_cancel_and_resend_refusals_are_translated() -> None:
    # Not scanned (gatewayd/outbound is another area); the sent-message page meets these four.
    # Raised with codes now (no English sentence to match): the catalogue words them.
    assert i18n.word_problem("fr", "message.cannot_cancel", {"id": 12, "state": "sent"}) == \
        "le message n°12 est à l'état « envoyé » : seuls les messages en file ou programmés peuvent être annulés"
    assert i18n.word_problem("fr", "message.already_resent", {"id": 12, "new": 40}) == \
        "le message n°12 a déjà été renvoyé (message n°40)"
    assert i18n.word_problem("fr", "message.not_found", {"id": 12}) == "aucun message n°12"


@pytest.mark.parametrize(("cell", "reason"), [
    ("", "vide"), ("abc", "n'est pas un numéro"), ("6.0101E8", "notation scientifique et a perdu des chiffres"),
    ("+336", "trop court"), ("0612", "mauvais nombre de chiffres"), ("+999123456", "indicatif"),
    ("123456789012345678", "numéro non valide"),
])
def test_import_line_reasons_are_french(cell: str, reason: str) -> None:
    check = check_number(cell, "FR")
    assert check.e164 is None and check.reason is not None
    assert check.problem is not None
    assert reason in i18n.word_problem("fr", check.problem.code, check.problem.params), (cell, check.reason)


@pytest.mark.parametrize(("cell", "repair"), [
    ("6.01010101E8", "notation scientifique développée, 0 initial rétabli"),
    ("612345678.0", "décimale « .0 » retirée, 0 initial rétabli"),
    ("33612345678", "« + » ajouté devant l'indicatif du pays"),
])
def test_import_repairs_are_french_piece_by_piece(cell: str, repair: str) -> None:
    check = check_number(cell, "FR")
    assert check.e164 is not None and check.repair is not None
    assert ", ".join(i18n.word_problem("fr", code, {}) for code in check.repairs) == repair, check.repair


async def test_the_import_analysis_page_gives_reasons_and_repairs_in_french(admin: Console) -> None:
    from aiohttp import FormData

    await admin.get("/imports")
    form = FormData()
    form.add_field("_csrf", admin.csrf)
    form.add_field("file", "Nom;Téléphone\nA;abc\nB;6.01010101E8\nC;<b>0612</b>\n".encode(), filename="c.csv",
                   content_type="text/csv")
    resp = await admin.client.post("/imports", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    status, body = await admin.get(resp.headers["Location"])
    assert status == 200
    assert "n&#39;est pas un numéro" in body or "n'est pas un numéro" in body
    assert "notation scientifique développée, 0 initial rétabli" in body
    assert "<b>0612</b>" not in body  # the cell is shown escaped
    assert "not a phone number" not in body and "leading 0 restored" not in body


def test_automatic_pause_reasons_are_french() -> None:
    # What campaigns/runner.py stores when it pauses a campaign by itself: codes, a refusal nested.
    assert i18n.word_problem("fr", "campaign.auto_paused", {"rate": "35%", "finished": 40, "threshold": "20%"}) == \
        "mise en pause automatique : 35% des 40 messages terminés ont échoué (seuil 20%)"
    nested = {"reason": {"code": "template.not_found", "params": {"id": 4}}}
    assert i18n.word_problem("fr", "campaign.auto_paused_because", nested) == \
        "mise en pause automatique : " + i18n.word_problem("fr", "template.not_found", {"id": 4})


def test_why_a_message_waits_or_has_no_report_is_french() -> None:
    # What the dispatcher stores (outbound/dispatcher.py): codes, the line's state by its label.
    assert i18n.word_problem("fr", "line.waiting", {"line": "line2", "line_state": "disconnected"}) == \
        "en attente de la ligne line2 : elle est « déconnectée »"
    assert i18n.word_problem("en", "line.waiting", {"line": "line2", "line_state": "disconnected"}) == \
        "waiting for line line2: it is disconnected"
    assert i18n.word_problem("fr", "report.none", {"span": "48 h"}).startswith(
        "pas d'accusé de réception en 48 h : remise non confirmée")


def test_a_pause_reason_is_read_back_as_a_code_only_when_stored_as_one() -> None:
    from gatewayd.problems import Problem
    from gatewayd.store.campaigns import decode_pause, encode_pause

    stored = encode_pause(Problem("campaign.auto_paused", "", {"rate": "35%", "finished": 40, "threshold": "20%"}))
    assert decode_pause(stored) == ("auto-paused: 35% of 40 finished messages failed (threshold 20%)",
                                    {"code": "campaign.auto_paused",
                                     "params": {"rate": "35%", "finished": 40, "threshold": "20%"}})
    # A person's own words are theirs, whatever they look like.
    for words in ("lunch", '{"code": "optout.blocked", "params": {}}', '{"code": "campaign.auto_paused'):
        assert decode_pause(words) == (words, None)


def test_no_console_page_translates_english_back() -> None:
    # The regular-expression translator and its "service.*" keys are gone for good.
    assert not (CONSOLE / "service_messages.py").exists()
    for lang in ("fr", "en"):
        assert not [k for k in i18n.catalog(lang) if k.startswith("service.")]
    for template in (CONSOLE / "templates").rglob("*.html"):
        assert "service(" not in template.read_text("utf-8"), template


# --- coded problems: French in the console, code and English in the API ----------------------------

async def _api(admin: Console, method: str, path: str, **kwargs: object) -> tuple[int, dict[str, object]]:
    key = await create_key(admin.app[keys.DB], admin.app[keys.CLOCK], "t", {"admin"})
    resp = await admin.client.request(method, path, headers={"Authorization": f"Bearer {key.token}"}, **kwargs)
    return resp.status, await resp.json()


async def test_a_bad_number_has_a_code_in_the_api(admin: Console) -> None:
    status, problem = await _api(admin, "POST", "/api/v1/messages", json={"to": ["0612"], "text": "Bonjour",
                                                                      "category": "transactional"})
    assert status == 422
    error = problem["errors"][0]  # type: ignore[index]
    assert error["field"] == "to[0]" and error["code"] == "phone.invalid"
    assert error["params"] == {"number": "0612", "reason": {"code": "phone.wrong_length", "params": {}}}
    assert error["message"] == "'0612' is not a valid phone number: wrong number of digits for its country"
    status, problem = await _api(admin, "POST", "/api/v1/contacts", json={"mobile": "+99912"})
    assert status == 422 and problem["errors"][0]["code"] == "phone.invalid"  # type: ignore[index]
    assert problem["errors"][0]["field"] == "mobile"  # type: ignore[index]


async def test_a_bad_contact_number_is_french_in_the_console(admin: Console) -> None:
    fr = {"Accept-Language": "fr"}
    await admin.get("/contacts/new", headers=fr)
    status, body, _ = await admin.post("/contacts/new", {"mobile": "0612", "last_name": "Durand"}, headers=fr)
    assert status == 422
    assert "« 0612 » n&#39;est pas un numéro de téléphone valide : mauvais nombre de chiffres pour son pays" in body
    assert "not a valid phone number" not in body and "wrong number" not in body
    await admin.post("/contacts/new", {"mobile": "0612345678", "last_name": "Durand"}, headers=fr)
    await admin.get("/contacts/new", headers=fr)
    status, body, _ = await admin.post("/contacts/new", {"mobile": "06 12 34 56 78"}, headers=fr)
    assert status == 409 or status == 422
    assert "a déjà le numéro +33612345678" in body and "already has" not in body
    status, problem = await _api(admin, "POST", "/api/v1/contacts", json={"mobile": "0612345678"})
    assert status == 409 and problem["errors"][0]["code"] == "contact.number_taken"  # type: ignore[index]


async def test_the_rejected_lines_file_gives_reasons_in_the_users_language(admin: Console) -> None:
    await admin.get("/imports")
    form = FormData()
    form.add_field("_csrf", admin.csrf)
    form.add_field("file", "Nom;Téléphone\nA;abc\nB;0612345678\nC;06 12 34 56 78\n".encode(), filename="c.csv",
                   content_type="text/csv")
    resp = await admin.client.post("/imports", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    import_id = resp.headers["Location"].rstrip("/").split("/")[-1].split("?")[0]
    await admin.get(resp.headers["Location"])
    french = await (await admin.client.get(f"/imports/{import_id}/rejects.csv",
                                           headers={"Accept-Language": "fr"})).text()
    assert "ce n'est pas un numéro de téléphone" in french and "doublon de la ligne 3" in french, french
    assert "not a phone number" not in french and "duplicate" not in french
    key = await create_key(admin.app[keys.DB], admin.app[keys.CLOCK], "t", {"admin"})
    english = await (await admin.client.get(f"/api/v1/imports/{import_id}/rejects.csv",
                                            headers={"Authorization": f"Bearer {key.token}"})).text()
    assert "not a phone number" in english and "duplicate of line 3" in english, english


def test_every_code_has_a_french_wording_of_its_own() -> None:
    # A French text copied from the English would pass the key check and still show English.
    same = []
    for code in ENGLISH:
        values = {name: "x" for name in i18n.placeholders(i18n.catalog("en").get(f"problem.{code}", ""))}
        french, english = i18n.word_problem("fr", code, values), i18n.word_problem("en", code, values)
        if french == english:
            same.append(code)
    assert same == []


async def test_a_settings_refusal_has_its_code_in_the_api(admin: Console) -> None:
    status, problem = await _api(admin, "PATCH", "/api/v1/settings/quiet_hours",
                                 json={"send_from": "20:00", "send_until": "08:00"})
    assert status == 422
    assert problem["errors"][0]["code"] == "quiet_hours.order"  # type: ignore[index]
    status, problem = await _api(admin, "POST", "/api/v1/modems/line1/ussd", json={"code": "123"})
    assert status == 422 and problem["errors"][0]["code"] == "ussd.bad_code", problem  # type: ignore[index]
