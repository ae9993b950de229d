"""Template variables ↔ the recipients' columns (pure): a proposal from French and English synonyms,
and the resolver that gives each variable its value (the mapped column, else the default).

A campaign's mapping is data kept with its audience: {variable: {"source": key, "default": text}},
where a key is one of the values a recipient has (a file column's field name, a contact field,
first_name, last_name, email, mobile). A variable without a mapping keeps its own name as key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gatewayd.contacts.analysis import fold
from gatewayd.problems import Problem

# Groups of names meaning the same thing (folded: lower case, no accents, letters and digits only).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("prenom", "firstname", "givenname", "forename", "prenomduclient", "prenomclient"),
    ("nom", "lastname", "surname", "familyname", "nomdefamille", "name", "nomduclient", "nomclient"),
    ("ville", "city", "commune", "town", "localite"),
    ("daterdv", "rdv", "daterendezvous", "rendezvous", "dateheurerdv", "appointment", "appointmentdate",
     "dateappointment", "date"),
    ("heurerdv", "heure", "heurerendezvous", "time", "appointmenttime"),
    ("civilite", "title", "salutation"),
    ("email", "mail", "courriel", "adressemail", "emailaddress"),
    ("mobile", "portable", "telephone", "tel", "phone", "numero", "number", "gsm"),
    ("societe", "company", "entreprise", "raisonsociale", "organisation", "organization"),
    ("codepostal", "cp", "postcode", "zipcode", "zip", "postalcode"),
    ("adresse", "address", "rue", "street"),
    ("magasin", "store", "shop", "agence", "branch"),
)
_BUILTIN = {"prenom": "first_name", "nom": "last_name", "email": "email", "mobile": "mobile"}
_GROUP_OF = {name: i for i, group in enumerate(SYNONYMS) for name in group}
MAX_DEFAULT = 200


@dataclass(frozen=True)
class Source:
    """A value recipients may have: its key in their values, and what the user calls it (a file header)."""

    key: str
    label: str


def _names(source: Source) -> set[str]:
    return {fold(source.key), fold(source.label)}


def propose(variables: Sequence[str], sources: Sequence[Source]) -> dict[str, str | None]:
    """variable -> the source key it most likely means: the same name first, then a synonym, else None."""
    out: dict[str, str | None] = {}
    for variable in variables:
        wanted = fold(variable)
        exact = [s for s in sources if wanted in _names(s)]
        if exact:
            out[variable] = exact[0].key
            continue
        group = _GROUP_OF.get(wanted)
        found = None
        if group is not None:
            synonyms = SYNONYMS[group]
            # Earlier synonyms are the better match ('daterdv' before a bare 'date').
            ranked = sorted(((min(synonyms.index(n) for n in _names(s) if n in synonyms), i)
                             for i, s in enumerate(sources) if _names(s) & set(synonyms)))
            if ranked:
                found = sources[ranked[0][1]].key
            elif SYNONYMS[group][0] in _BUILTIN:
                found = _BUILTIN[SYNONYMS[group][0]]
        out[variable] = found
    return out


def check(mapping: Mapping[str, Mapping[str, str | None]], variables: Iterable[str],
          keys: Iterable[str]) -> list[Problem]:
    """Problems of a user's mapping, each naming its field: unknown variables, unknown sources,
    over-long defaults."""
    problems = []
    known_vars = {v.lower() for v in variables}
    known_keys = {k.lower() for k in keys}
    for variable, entry in mapping.items():
        where = f"variables.{variable}"
        if variable.lower() not in known_vars:
            problems.append(Problem("campaign.no_variable", where, {"variable": variable}))
        source = entry.get("source")
        if source and source.lower() not in known_keys:
            problems.append(Problem("campaign.no_source", f"{where}.source", {"source": source}))
        if len(entry.get("default") or "") > MAX_DEFAULT:
            problems.append(Problem("text.max_length", f"{where}.default", {"max": MAX_DEFAULT}))
    return problems


class Resolver:
    """Gives a recipient's values the campaign's variables: the mapped source's value, else the default."""

    def __init__(self, mapping: Mapping[str, Mapping[str, str | None]]) -> None:
        self.plan = [(variable, (entry.get("source") or "").lower(), entry.get("default") or "")
                     for variable, entry in mapping.items()]

    def __bool__(self) -> bool:
        return bool(self.plan)

    def apply(self, values: Mapping[str, str]) -> dict[str, str]:
        lowered = {k.lower(): v for k, v in values.items()}
        out = dict(values)
        for variable, source, default in self.plan:
            value = lowered.get(source) if source else lowered.get(variable.lower())
            out[variable] = value or default
        return out
