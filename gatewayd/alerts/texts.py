"""What an alert says, in French and English (pure). The e-mail, the SMS and the console all
word an alert through `describe`, so a message reads the same wherever it arrives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# kind -> language -> (opened, resolved); {placeholders} come from the alert's params.
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "line_down": {
        "fr": ("La ligne {line} ne peut plus envoyer depuis {seconds} s ({reason}).",
               "La ligne {line} fonctionne de nouveau."),
        "en": ("Line {line} has not been able to send for {seconds} s ({reason}).",
               "Line {line} works again."),
    },
    "registration_lost": {
        "fr": ("La ligne {line} n'est plus enregistrée sur le réseau depuis {seconds} s.",
               "La ligne {line} est de nouveau enregistrée sur le réseau."),
        "en": ("Line {line} has been off the network for {seconds} s.",
               "Line {line} is registered on the network again."),
    },
    "storage_full": {
        "fr": ("La mémoire SMS de la ligne {line} est pleine ({used}/{total}).",
               "La mémoire SMS de la ligne {line} a de nouveau de la place."),
        "en": ("The SMS storage of line {line} is full ({used}/{total}).",
               "The SMS storage of line {line} has room again."),
    },
    "campaign_paused": {
        "fr": ("La campagne « {name} » a été mise en pause automatiquement : {reason}", ""),
        "en": ("Campaign \"{name}\" was paused automatically: {reason}", ""),
    },
    "campaign_completed": {
        "fr": ("La campagne « {name} » est terminée.", ""),
        "en": ("Campaign \"{name}\" is finished.", ""),
    },
    "disk_low": {
        "fr": ("Il reste {free_mb} Mo sur le disque de la base de données (seuil {threshold_mb} Mo).",
               "Le disque de la base de données a de nouveau de la place ({free_mb} Mo libres)."),
        "en": ("{free_mb} MB left on the database's disk (threshold {threshold_mb} MB).",
               "The database's disk has room again ({free_mb} MB free)."),
    },
    "database_unwritable": {
        "fr": ("La base de données n'accepte plus d'écriture : {reason}",
               "La base de données accepte de nouveau les écritures."),
        "en": ("The database no longer accepts writes: {reason}",
               "The database accepts writes again."),
    },
    "balance_low": {
        "fr": ("Crédit bas sur la ligne {line} : {amount} € (seuil {threshold} €).",
               "Le crédit de la ligne {line} est remonté : {amount} €."),
        "en": ("Low balance on line {line}: €{amount} (threshold €{threshold}).",
               "The balance of line {line} is back up: €{amount}."),
    },
}

_REASONS = {
    "fr": {"disconnected": "modem débranché ou injoignable", "opening": "port en cours d'ouverture",
           "initialising": "modem en cours d'initialisation", "degraded": "ligne dégradée"},
    "en": {"disconnected": "modem unplugged or unreachable", "opening": "opening its port",
           "initialising": "modem initialising", "degraded": "line degraded"},
}

_PREFIX = {
    "fr": {"opened": "ALERTE", "reminder": "RAPPEL", "resolved": "RÉTABLI", "info": "INFO"},
    "en": {"opened": "ALERT", "reminder": "REMINDER", "resolved": "RECOVERED", "info": "INFO"},
}

KINDS = tuple(_TEXTS)
# Facts, not trouble: no recovery follows, and the subject does not cry "alert".
INFO_KINDS = frozenset({"campaign_completed"})


@dataclass(frozen=True)
class Wording:
    subject: str     # e-mail subject / console title
    text: str        # the sentence (SMS body, console line)


class _Keep(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def describe(kind: str, params: dict[str, Any], language: str, phase: str = "opened",
             box: str = "gatewayd") -> Wording:
    """The words of one alert message; `phase` is opened, reminder or resolved."""
    lang = language if language in ("fr", "en") else "en"
    opened, resolved = _TEXTS.get(kind, {}).get(lang, ("{kind}", "{kind}"))
    values = _Keep(params, kind=kind)
    if "reason" in params and kind == "line_down":
        values["reason"] = _REASONS[lang].get(str(params["reason"]), params["reason"])
    text = (resolved if phase == "resolved" and resolved else opened).format_map(values)
    label = "info" if kind in INFO_KINDS and phase == "opened" else phase
    return Wording(f"[{box}] {_PREFIX[lang][label]}: {text}"[:180], text)
