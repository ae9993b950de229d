"""A modem of a family the project has no simulator profile for, played from a written transcript
(tests/modem/transcripts/unknown/*.txt): `> COMMAND` then its `< answer` lines (a trailing `*`
matches any command starting so), `boot:` lines said at power-up, `unknown:` the answer to
anything else. The few answers 27.005/27.007 fix for every family (settings accepted, PIN ready,
the SMS storage and PDU submission) are played here, from a small storage of PDUs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .fakepeer import FakePeer

UNKNOWN_FAMILIES = Path(__file__).parent / "transcripts" / "unknown"
_SET_OK = ("ATE0", "AT", "AT+CMEE=1", "AT+CMGF=0", "AT+CLIP=1", "AT+COPS=3,0", "AT+CREG=", "AT+CGREG=",
           "AT+CEREG=", "AT+CNMI=")


@dataclass
class FamilyScript:
    name: str
    answers: dict[str, list[str]] = field(default_factory=dict)
    prefixes: dict[str, list[str]] = field(default_factory=dict)
    boot: list[str] = field(default_factory=list)
    unknown: str = "ERROR"

    @classmethod
    def load(cls, path: Path) -> FamilyScript:
        script = cls(path.stem)
        current: list[str] | None = None
        for raw in path.read_text(encoding="utf-8").splitlines():
            if not raw.strip() or raw.startswith("#"):
                continue
            if raw.startswith("> "):
                command = raw[2:]
                current = []
                if command.endswith("*"):
                    script.prefixes[command[:-1]] = current
                else:
                    script.answers[command] = current
            elif raw.startswith("< ") and current is not None:
                current.append(raw[2:])
            elif raw.startswith("boot: "):
                script.boot.append(raw[6:])
            elif raw.startswith("unknown: "):
                script.unknown = raw[9:]
            else:
                raise ValueError(f"{path.name}: cannot read {raw!r}")
        return script


class FamilyModem:
    """FakePeer script answering as `family` does; `store()` an SMS, `urc()` say a line."""

    def __init__(self, family: FamilyScript) -> None:
        self.family = family
        self.peer = FakePeer(self)
        self.storage: dict[str, dict[int, str]] = {}   # memory -> index -> PDU hex
        self.mem1 = "SM"
        self.commands: list[str] = []
        self.submitted: list[str] = []
        self._next_mr = 41
        for line in family.boot:
            self.peer.push(f"\r\n{line}\r\n".encode("latin-1"))

    @property
    def port(self) -> str:
        return self.peer.port

    def store(self, memory: str, index: int, pdu: str) -> None:
        self.storage.setdefault(memory, {})[index] = pdu

    def urc(self, line: str) -> None:
        self.peer.push(f"\r\n{line}\r\n".encode("latin-1"))

    def close(self) -> None:
        self.peer.close()

    def __call__(self, item: str) -> bytes | None:
        if item == "\x1b":
            return None
        if item.endswith("\x1a"):
            self.submitted.append(item[:-1])
            self._next_mr += 1
            return self._say([f"+CMGS: {self._next_mr}"], "OK")
        command = item.rstrip("\r")
        self.commands.append(command)
        lines = self._answer(command)
        if lines is None:
            return self._say([], self.family.unknown)
        return self._say(lines[:-1], lines[-1]) if lines else None

    def _answer(self, command: str) -> list[str] | None:
        if command.startswith('AT+CPMS="'):
            self.mem1 = command.split('"')[1]
        if command in self.family.answers:
            return self.family.answers[command]
        for prefix, lines in sorted(self.family.prefixes.items(), key=lambda kv: -len(kv[0])):
            if command.startswith(prefix):
                return lines
        return self._standard(command)

    def _standard(self, command: str) -> list[str] | None:
        slots = self.storage.setdefault(self.mem1, {})
        if command == "AT+CPIN?":
            return ["+CPIN: READY", "OK"]
        if command.startswith("AT+CMGS="):
            self.peer.push(b"\r\n> ")
            return []
        if command == "AT+CMGL=4":
            out = []
            for index, pdu in sorted(slots.items()):
                out += [f"+CMGL: {index},0,,{len(bytes.fromhex(pdu)) - 1 - bytes.fromhex(pdu)[0]}", pdu]
            return [*out, "OK"]
        if command.startswith("AT+CMGR="):
            pdu = slots.get(int(command[8:]))
            if pdu is None:
                return ["+CMS ERROR: 321"]
            return [f"+CMGR: 0,,{len(bytes.fromhex(pdu)) - 1 - bytes.fromhex(pdu)[0]}", pdu, "OK"]
        if command.startswith("AT+CMGD="):
            slots.pop(int(command[8:].split(",")[0]), None)
            return ["OK"]
        if command in _SET_OK or any(command.startswith(p) for p in _SET_OK if p.endswith("=")):
            return ["OK"]
        return None

    @staticmethod
    def _say(lines: list[str], final: str) -> bytes:
        return "".join(f"\r\n{line}\r\n" for line in [*lines, final]).encode("latin-1")
