"""The `gatewayd` command: run, user add, apikey create, modem probe, backup (the README's "Command line").

Exit status: 0 success, 1 runtime failure, 2 bad usage or bad configuration — always with one
line on stderr saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from gatewayd import __version__
from gatewayd.clock import SystemClock
from gatewayd import config
from gatewayd.config import ConfigError, Settings, load_settings
from gatewayd.errors import ProblemError
from gatewayd.logging_setup import setup_logging
from gatewayd.store.backup import BackupError
from gatewayd.store.db import Database
from gatewayd.store.errors import DatabaseError

T = TypeVar("T")


class UsageError(Exception):
    """Bad arguments (exit 2)."""


class Failure(Exception):
    """The command could not do its job (exit 1)."""


def _positive_lines(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError("must be between 0 and 16")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatewayd", description="Edge SMS gateway daemon.")
    parser.add_argument("--version", action="version", version=f"gatewayd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, metavar="PATH",
                       help="TOML configuration file (default /etc/gatewayd/gatewayd.toml)")

    run = sub.add_parser("run", help="run the daemon")
    with_config(run)
    run.add_argument("--simulate", nargs="?", const=2, type=_positive_lines, metavar="N",
                     help="start N simulated modems (default 2); without --config, keep data in ./var")

    user = sub.add_parser("user", help="manage console users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a console user")
    add.add_argument("name")
    with_config(add)
    add.add_argument("--role", choices=["admin", "operator", "viewer"], default="operator")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    apikey = sub.add_parser("apikey", help="manage API keys").add_subparsers(dest="action", required=True)
    create = apikey.add_parser("create", help="create an API key (printed once, on the last line)")
    create.add_argument("name")
    with_config(create)
    create.add_argument("--scope", action="append", choices=["send", "read", "admin"],
                        help="grant a scope (repeatable; default: send and read)")

    modem = sub.add_parser("modem", help="modem tools").add_subparsers(dest="action", required=True)
    probe = modem.add_parser("probe", help="identify a modem and its SIM on a serial port")
    probe.add_argument("port")
    probe.add_argument("--baudrate", type=int, default=115200)

    backup = sub.add_parser("backup", help="write a consistent copy of the database (safe while running)")
    backup.add_argument("path", type=Path)
    with_config(backup)
    backup.add_argument("--keep", type=int, metavar="N",
                        help="PATH is a directory: write a dated copy into it and keep the N newest")

    restore = sub.add_parser("restore", help="replace the database with a backup copy (daemon stopped)")
    restore.add_argument("path", type=Path, help="a copy written by `gatewayd backup`")
    with_config(restore)
    return parser


def _settings(args: argparse.Namespace, simulate: int | None = None) -> Settings:
    path = getattr(args, "config", None)
    if path is None and simulate is None:
        # Admin commands on a demo box (no /etc config) act on the embedded default database.
        if not config.DEFAULT_CONFIG_PATH.exists():
            return load_settings(None, simulate=0)
    return load_settings(path, simulate=simulate)


def _demo_database(args: argparse.Namespace) -> bool:
    return getattr(args, "config", None) is None and not config.DEFAULT_CONFIG_PATH.exists()


async def _with_db(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    db = Database(settings.storage.database, busy_timeout_ms=settings.storage.busy_timeout_ms)
    await db.open()
    try:
        return await action(db)
    finally:
        await db.close()


def cmd_run(args: argparse.Namespace) -> int:
    from gatewayd.service import StartupError, serve

    settings = _settings(args, simulate=args.simulate)
    setup_logging(settings.logging.level)
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        raise Failure(str(exc)) from None
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise UsageError("the two passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from gatewayd.accounts.users import create_user

    settings = _settings(args)
    password = _read_password(args.password_stdin)
    user_id = asyncio.run(_with_db(settings, lambda db: create_user(db, SystemClock(), args.name, password,
                                                                     args.role)))
    print(f"user {args.name!r} created with role {args.role} (id {user_id})")
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from gatewayd.accounts.apikeys import create_key

    settings = _settings(args)
    scopes = set(args.scope or ["send", "read"])
    key = asyncio.run(_with_db(settings, lambda db: create_key(db, SystemClock(), args.name, scopes)))
    print(f"API key {key.name!r} (id {key.id}) with scopes: {' '.join(sorted(key.scopes))}, "
          f"stored in {settings.storage.database}")
    if _demo_database(args):
        print(f"(no {config.DEFAULT_CONFIG_PATH} and no --config: this is the demo database of `gatewayd run --simulate`)")
    print("Store it now: it is shown only once.")
    print(key.token)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from gatewayd.store.backup import backup_database, rotated_backup

    settings = _settings(args)
    if not settings.storage.database.exists():
        raise Failure(f"no database at {settings.storage.database}")
    if args.keep is not None:
        if args.keep < 1:
            raise UsageError("--keep: must be at least 1")
        result = rotated_backup(settings.storage.database, args.path, args.keep)
    else:
        result = backup_database(settings.storage.database, args.path)
    print(f"backup written to {result.path} ({result.size_bytes} bytes, schema version {result.schema_version})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gatewayd.store.restore import restore_database

    settings = _settings(args)
    result = restore_database(args.path.absolute(), settings.storage.database)
    print(f"restored {args.path} (schema version {result.schema_version}) into {settings.storage.database}")
    if result.previous is not None:
        print(f"the replaced database is kept in {result.previous}")
    print("start the daemon (systemctl start gatewayd): it applies any newer migrations")
    return 0


def cmd_modem_probe(args: argparse.Namespace) -> int:
    try:
        from gatewayd.modem.probe import format_probe, probe_port
    except ImportError:
        raise Failure("modem probe is not available in this build") from None
    from gatewayd.modem.errors import ModemError

    try:
        result = asyncio.run(probe_port(args.port, args.baudrate))
    except ModemError as exc:
        raise Failure(str(exc)) from None
    print(format_probe(result))
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[argparse.Namespace], int]] = {
    ("run", None): cmd_run,
    ("user", "add"): cmd_user_add,
    ("apikey", "create"): cmd_apikey_create,
    ("backup", None): cmd_backup,
    ("restore", None): cmd_restore,
    ("modem", "probe"): cmd_modem_probe,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    try:
        return command(args)
    except (ConfigError, UsageError) as exc:
        print(f"gatewayd: {exc}", file=sys.stderr)
        return 2
    except ProblemError as exc:
        print(f"gatewayd: {exc.detail}", file=sys.stderr)
        return 2 if exc.status in (400, 409, 422) else 1
    except (Failure, DatabaseError, BackupError) as exc:
        print(f"gatewayd: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
