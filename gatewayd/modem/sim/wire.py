"""Modem-side AT wire protocol (sans-IO): bytes from the host in, command lines and PDUs out.

Mirrors what a V.250 command interpreter does: characters are echoed as they arrive, a line ends
at CR (LF is ignored), only lines starting with "AT" (or "A/") are commands, and after a `> `
prompt everything up to Ctrl-Z is message data (ESC cancels it).
"""

from __future__ import annotations

from dataclasses import dataclass

CTRL_Z = 0x1A
ESC = 0x1B
BACKSPACE = 0x08


@dataclass(frozen=True)
class CommandLine:
    """A complete command line, without the leading "AT"."""

    body: str


@dataclass(frozen=True)
class MessageData:
    """What the host typed after the prompt, up to Ctrl-Z (or ESC when `cancelled`)."""

    text: str
    cancelled: bool


@dataclass(frozen=True)
class Command:
    """One command of a command line: `name` upper-cased ("+CMGS", "E", "&F", "S0"), `kind` one of
    exec/read/test/set, `args` the raw text after '=' for set."""

    name: str
    kind: str
    args: str = ""

    def params(self) -> list[str]:
        """Comma-separated arguments with quotes removed (commas inside quotes kept)."""
        out: list[str] = []
        cur: list[str] = []
        quoted = False
        for ch in self.args:
            if ch == '"':
                quoted = not quoted
            elif ch == "," and not quoted:
                out.append("".join(cur).strip())
                cur = []
            else:
                cur.append(ch)
        out.append("".join(cur).strip())
        return out if self.args.strip() else []


class Framer:
    """Turns host bytes into CommandLine / MessageData items; `echo_bytes` says what to echo."""

    def __init__(self) -> None:
        self.prompt_mode = False
        self._line = bytearray()
        self._data = bytearray()
        self._last = ""

    def feed(self, data: bytes) -> tuple[bytes, list[CommandLine | MessageData]]:
        """(bytes to echo when echo is on, complete items) for newly received `data`."""
        echo = bytearray()
        items: list[CommandLine | MessageData] = []
        for byte in data:
            if self.prompt_mode:
                if byte == CTRL_Z or byte == ESC:
                    items.append(MessageData(self._data.decode("latin-1"), byte == ESC))
                    self._data.clear()
                    self.prompt_mode = False
                else:
                    echo.append(byte)
                    self._data.append(byte)
                continue
            echo.append(byte)
            if byte == 0x0D:
                item = self._complete_line()
                if item is not None:
                    items.append(item)
                    # Data may follow in the same write, before the prompt is even shown: take
                    # it as message data at once (the device calls leave_prompt() if it refuses).
                    if item.body.upper().lstrip().startswith(("+CMGS=", "+CMGW")):
                        self.enter_prompt()
            elif byte == 0x0A:
                continue
            elif byte == BACKSPACE:
                if self._line:
                    self._line.pop()
            elif byte == ESC or byte == CTRL_Z:
                self._line.clear()
            else:
                self._line.append(byte)
                if self._line[-2:].upper() == b"A/" and len(self._line) == 2:
                    self._line.clear()
                    items.append(CommandLine(self._last))
        return bytes(echo), items

    def enter_prompt(self) -> None:
        """The device showed `> `: what follows is message data."""
        self.prompt_mode = True
        self._data.clear()

    def leave_prompt(self) -> None:
        """The device refused the command: back to command mode."""
        self.prompt_mode = False
        self._data.clear()

    def _complete_line(self) -> CommandLine | None:
        raw = self._line.decode("latin-1").strip()
        self._line.clear()
        # Power-up garbage and stray bytes before "AT" are ignored, as V.250 interpreters do.
        at = raw.upper().find("AT")
        if at < 0:
            return None
        body = raw[at + 2 :]
        self._last = body
        return CommandLine(body)


def split_commands(body: str) -> list[Command]:
    """Split the text after "AT" into commands: basic (E0, V1, &F, S0=0, I, Z, H) and extended
    (+CMGF=0, ^CURC=0, separated by ';'). Raises ValueError on text no interpreter accepts."""
    cmds: list[Command] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch in " ;":
            i += 1
            continue
        if ch in "+^$%*#":
            j = i + 1
            while j < n and (body[j].isalnum() or body[j] in "_"):
                j += 1
            name = body[i:j].upper()
            if len(name) < 2:
                raise ValueError(f"bad extended command at {body[i:]!r}")
            k = j
            quoted = False
            while k < n and (quoted or body[k] != ";"):
                if body[k] == '"':
                    quoted = not quoted
                k += 1
            cmds.append(_classify(name, body[j:k]))
            i = k
            continue
        if ch == "&":
            if i + 1 >= n or not body[i + 1].isalpha():
                raise ValueError(f"bad '&' command at {body[i:]!r}")
            j = i + 2
            while j < n and body[j].isdigit():
                j += 1
            cmds.append(Command(body[i : i + 2].upper(), "set", body[i + 2 : j]))
            i = j
            continue
        if ch.isalpha():
            letter = ch.upper()
            if letter == "D":  # dial: the rest of the line is the number
                cmds.append(Command("D", "set", body[i + 1 :]))
                break
            j = i + 1
            if letter == "S":
                while j < n and body[j].isdigit():
                    j += 1
                reg = "S" + body[i + 1 : j]
                if j == i + 1:
                    raise ValueError(f"S-register number missing at {body[i:]!r}")
                if j < n and body[j] == "?":
                    cmds.append(Command(reg, "read"))
                    i = j + 1
                elif j < n and body[j] == "=":
                    k = j + 1
                    while k < n and body[k].isdigit():
                        k += 1
                    cmds.append(Command(reg, "set", body[j + 1 : k]))
                    i = k
                else:
                    raise ValueError(f"bad S-register command at {body[i:]!r}")
                continue
            while j < n and body[j].isdigit():
                j += 1
            cmds.append(Command(letter, "set" if j > i + 1 else "exec", body[i + 1 : j]))
            i = j
            continue
        raise ValueError(f"unexpected {ch!r} in command line")
    return cmds


def _classify(name: str, rest: str) -> Command:
    rest = rest.strip()
    if rest == "":
        return Command(name, "exec")
    if rest == "?":
        return Command(name, "read")
    if rest == "=?":
        return Command(name, "test")
    if rest.startswith("="):
        return Command(name, "set", rest[1:])
    raise ValueError(f"bad syntax after {name}: {rest!r}")
