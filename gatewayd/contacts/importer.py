"""Imports: upload to disk, analyse by streaming (writes nothing but a spool), commit in one transaction.

Step 1 reads the file chunk by chunk in a worker thread, classifies rows with the pure Analyzer,
checks each chunk's numbers against the base and the opt-out list, and writes the valid rows to a
spool file beside the upload. Step 2 reads the spool (never the whole file at once) and writes
contacts and memberships in a single transaction, so an import applies entirely or not at all.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from itertools import chain
from datetime import timedelta
from pathlib import Path
from typing import Any

from gatewayd.clock import Clock, utc_iso
from gatewayd.config import Settings
from gatewayd.contacts import analysis as an
from gatewayd.contacts import layout, merge
from gatewayd.contacts import readers
from gatewayd.contacts.xlsx_limits import XlsxLimits
from gatewayd.contacts.number_list import NumberList, collect_numbers
from gatewayd.contacts import rows as rowkit
from gatewayd.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from gatewayd.problems import Wording, english, worded
from gatewayd.store import contacts as contact_store
from gatewayd.store import groups as group_store
from gatewayd.store import imports as import_store
from gatewayd.store import optouts
from gatewayd.store.db import Database
from gatewayd.store.errors import DiskFull
from gatewayd.store.imports import ImportRow

log = logging.getLogger(__name__)

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
CHUNK_ROWS = 5000
SAMPLE_ROWS = 5
HEAD_ROWS = 50


@dataclass(frozen=True)
class Certification:
    """The user's statement that every imported person agreed to receive messages."""

    statement: str
    actor: str


@dataclass(frozen=True)
class CommitOptions:
    certification: Certification
    mapping: tuple[str, ...] | None = None
    group_ids: tuple[int, ...] = ()
    new_groups: tuple[str, ...] = ()
    update_existing: bool = True
    keep_opted_out_contacts: bool = False  # import them as contacts (still opted out) instead of skipping


@dataclass
class _Source:
    rows: Iterator[tuple[int, list[str]]]
    info: dict[str, Any] = field(default_factory=dict)


def _rows_of(path: Path, kind: str, limits: XlsxLimits) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows of a workbook, or a text file's records."""
    if kind == "xlsx":
        return readers.iter_xlsx_rows(path, None, limits)
    if kind == "xls":
        return readers.iter_xls_rows(path, None)
    return readers.iter_text_rows(path, readers.text_format(path))


class ImportService:
    """Contact imports and campaign recipient files."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.region = settings.sending.default_region
        self.directory = settings.imports.directory or Path(settings.storage.database).parent / "imports"
        i = settings.imports
        self.xlsx_limits = XlsxLimits(max_cells=i.xlsx_max_cells, max_shared_strings=i.xlsx_max_shared_strings,
                                      max_columns=i.xlsx_max_columns, max_unzipped_bytes=i.xlsx_max_unzipped_bytes)

    # --- upload -----------------------------------------------------------------------------------

    async def _spool(self, chunks: AsyncIterator[bytes], *, owner: str | None = None,
                     kept: bool = False) -> tuple[Path, int, str]:
        """Stream an upload to a temporary file (refused past imports.max_bytes, and for a file that
        is `kept` past what its `owner` may keep waiting, imports.per_user_bytes): (path, size, kind)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DiskFull(f"cannot create {self.directory}: {exc.strerror}") from None
        limit = self.settings.imports.max_bytes
        if kept:
            quota = self.settings.imports.per_user_bytes
            held = await import_store.bytes_held(self.db, owner)
            if held + min(limit, quota) > quota:
                limit = quota - held
                if limit <= 0:
                    raise PayloadTooLarge(code="import.quota_full", held=f"{held / 1e6:.1f}",
                                          quota=f"{quota / 1e6:.1f}")
        per_file = limit == self.settings.imports.max_bytes
        tmp = self.directory / f".upload-{os.getpid()}-{id(chunks)}"
        size = 0
        try:
            with tmp.open("wb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        if per_file:
                            raise PayloadTooLarge(code="import.too_big", limit=limit)
                        raise PayloadTooLarge(code="import.quota_left", left=f"{limit / 1e6:.1f}")
                    fh.write(chunk)
            if size == 0:
                raise InvalidInput("file", code="import.upload_empty")
            return tmp, size, readers.sniff_kind(tmp)
        except readers.FileProblem as exc:
            tmp.unlink(missing_ok=True)
            raise InvalidInput(problems=[exc.problem.at("file")]) from None
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno in DISK_FULL_ERRNOS:
                raise DiskFull(f"cannot store the upload in {self.directory}: {exc.strerror}") from None
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    async def read_numbers(self, chunks: AsyncIterator[bytes]) -> NumberList:
        """The phone numbers of an uploaded CSV/TXT/XLSX (first sheet), which is not kept: a
        list to act on at once, such as a previous provider's STOP list."""
        tmp, _, kind = await self._spool(chunks)
        try:
            if kind == "xlsx":  # openpyxl goes by the file name's extension
                tmp = tmp.rename(tmp.with_name(tmp.name + ".xlsx"))

            def read() -> NumberList:
                return collect_numbers(_rows_of(tmp, kind, self.xlsx_limits), self.region)
            return await asyncio.to_thread(read)
        except readers.FileProblem as exc:
            raise InvalidInput(problems=[exc.problem.at("file")]) from None
        finally:
            tmp.unlink(missing_ok=True)

    async def save_upload(self, chunks: AsyncIterator[bytes], *, filename: str, purpose: str,
                          created_by: str | None) -> ImportRow:
        """Stream an upload to disk (refused past imports.max_bytes) and record it."""
        tmp, size, kind = await self._spool(chunks, owner=created_by, kept=True)
        fmt = kind if kind in ("xlsx", "xls") else ("txt" if filename.lower().endswith(".txt") else "csv")
        import_id = await import_store.insert(self.db, purpose=purpose, filename=filename[:200], path="",
                                              size=size, fmt=fmt, created_by=created_by, now=self.clock.now())
        final = self.directory / f"{import_id}.{fmt}"
        tmp.replace(final)
        await import_store.set_path(self.db, import_id, str(final))
        row = await import_store.get(self.db, import_id)
        assert row is not None
        return row

    async def get(self, import_id: int) -> ImportRow:
        row = await import_store.get(self.db, import_id)
        if row is None:
            raise NotFound(code="import.not_found", id=import_id)
        return row

    async def delete(self, import_id: int) -> None:
        """Remove an upload: its file, its analysis spool and its row (a committed import's contacts stay)."""
        row = await self.get(import_id)
        if await import_store.in_use_by_campaign(self.db, import_id):
            raise Conflict(code="import.in_use", id=import_id)
        self._discard_files(import_id, Path(row.path))
        await import_store.delete(self.db, import_id)
        log.info("import %d (%s) deleted", import_id, row.filename)

    async def purge_expired(self) -> int:
        """Delete uploads older than imports.expire_hours that were never imported and that no live
        campaign reads; returns how many."""
        before = self.clock.now() - timedelta(hours=self.settings.imports.expire_hours)
        count = 0
        while rows := await import_store.expired(self.db, created_before=before):
            for row in rows:
                self._discard_files(row.id, Path(row.path))
                await import_store.delete(self.db, row.id)
            count += len(rows)
        self._discard_stray_uploads()
        if count:
            log.info("deleted %d upload(s) older than %g h that were never imported", count,
                     self.settings.imports.expire_hours)
        return count

    async def scheduled_purge(self) -> None:
        """Scheduler entry point: a failed purge is logged and tried again at the next run."""
        try:
            await self.purge_expired()
        except Exception:
            log.exception("purging expired uploads failed; it will run again at the next interval")

    def _discard_stray_uploads(self) -> None:
        """Temporary files of uploads cut short by a crash (named .upload-<pid>-…)."""
        try:
            strays = [p for p in self.directory.glob(".upload-*") if not p.name.startswith(f".upload-{os.getpid()}-")]
        except OSError:
            return
        for path in strays:
            path.unlink(missing_ok=True)

    def spool_path(self, import_id: int) -> Path:
        return self.directory / f"{import_id}.spool"

    # --- step 1 -----------------------------------------------------------------------------------

    def _open(self, row: ImportRow, sheet: str | None) -> _Source:
        path = Path(row.path)
        if not path.exists():
            raise Conflict(code="import.file_gone", id=row.id)
        try:
            if row.format in ("xlsx", "xls"):
                xls = row.format == "xls"
                # An XLSX is checked against the limits once, when its sheets are listed.
                sheets = readers.xls_sheets(path) if xls else readers.xlsx_sheets(path, self.xlsx_limits)
                if sheet is None and len(sheets) > self.settings.imports.max_sheets:
                    raise InvalidInput("sheet", code="import.many_sheets", count=len(sheets), sheets=", ".join(sheets))
                rows = readers.iter_xls_rows(path, sheet) if xls else readers.iter_xlsx_rows(path, sheet, None)
                return _Source(rows, {"format": row.format, "sheets": sheets, "sheet": sheet or sheets[0]})
            fmt = readers.text_format(path)
            return _Source(readers.iter_text_rows(path, fmt),
                           {"format": row.format, "encoding": fmt.encoding_label,
                            "separator": {None: None, "\t": "tab"}.get(fmt.separator, fmt.separator)})
        except readers.FileProblem as exc:
            raise InvalidInput(problems=[exc.problem.at("file")]) from None

    async def analyse(self, import_id: int, *, sheet: str | None = None, has_header: bool | None = None,
                      mapping: tuple[str, ...] | None = None, header_line: int | None = None) -> dict[str, Any]:
        """Step 1: report on the file and propose a mapping; writes no contact.

        header_line: the file's line holding the header (0: no header); by default it is found
        among the first rows, title and blank rows above it being skipped."""
        row = await self.get(import_id)
        source = await asyncio.to_thread(self._open, row, sheet)
        try:
            head = await asyncio.to_thread(rowkit.take, source.rows, HEAD_ROWS)
        except readers.FileProblem as exc:
            raise InvalidInput(problems=[exc.problem.at("file")]) from None
        while head and not any(c.strip() for c in head[0][1]):
            head.pop(0)  # blank lines above the header
        if not head:
            raise InvalidInput("file", code="import.no_rows")
        index = self._header_index(head, has_header, header_line)
        header = index is not None
        skipped = [line for line, cells in head[:index or 0] if any(c.strip() for c in cells)]
        data_head = head[index + 1:] if index is not None else head
        width = max((rowkit.width(cells) for _, cells in data_head), default=0)
        if index is not None:
            header_cells = head[index][1]
            headers = [c.strip() for c in header_cells[:rowkit.width(header_cells)]]
            width = max(width, len(headers))
            headers += [""] * (width - len(headers))
        else:
            headers = [f"column {i + 1}" for i in range(width)]
        existing_fields: list[str] = []
        if row.purpose == "contacts":
            async with self.db.read() as conn:
                existing_fields = await contact_store.field_names(conn)
        # Recipient files map columns to template variables, not to the 20 custom fields.
        limit = an.MAX_CUSTOM_FIELDS if row.purpose == "contacts" else 100
        if header:
            proposal = an.propose_mapping(headers, existing_fields, limit)
        else:
            proposal = an.Proposal(self._guess_roles(data_head, width, existing_fields, limit), ())
        chosen = tuple(mapping) if mapping is not None else proposal.mapping
        problems = an.validate_mapping(chosen, width)
        if mapping is not None and problems:
            raise InvalidInput(problems=problems)
        report: dict[str, Any] = {
            **source.info, "header_line": head[index][0] if index is not None else None,
            "skipped_lines": skipped, "headers": headers, "columns": width,
            "first_rows": [{"line": line, "cells": [c[:60] for c in cells[:width]]}
                           for line, cells in head[:layout.HEADER_SEARCH_ROWS] if any(c.strip() for c in cells)],
            "proposed_mapping": list(proposal.mapping), "mapping": list(chosen),
            "columns_beyond_limit": list(proposal.beyond_limit), "max_custom_fields": an.MAX_CUSTOM_FIELDS,
            "existing_custom_fields": existing_fields,
            "sample": [cells[:width] for _, cells in data_head[:SAMPLE_ROWS]],
        }
        if problems:
            # English for the API (as before); the codes for the console to word.
            report["mapping_problems"] = [p.english() for p in problems]
            report["mapping_problem_codes"] = [p.as_data() for p in problems]
            await import_store.set_analysis(self.db, import_id, report)
            return report
        report.update(await self._classify(row, chain(data_head, source.rows), chosen))
        await import_store.set_analysis(self.db, import_id, report)
        return report

    def _header_index(self, head: list[tuple[int, list[str]]], has_header: bool | None,
                      header_line: int | None) -> int | None:
        """Index in `head` of the header row (None: no header), as asked or as found."""
        if header_line is not None:
            if header_line == 0:
                return None
            for i, (line, cells) in enumerate(head):
                if line == header_line:
                    if not any(c.strip() for c in cells):
                        raise InvalidInput("header_line", code="import.header_line_empty", line=header_line)
                    return i
            raise InvalidInput("header_line", code="import.header_line_far", line=header_line, count=HEAD_ROWS)
        if has_header is False:
            return None
        found = layout.find_header([cells for _, cells in head], self.region)
        if found is None and has_header:
            return 0
        return found

    def _guess_roles(self, rows: list[tuple[int, list[str]]], width: int, existing_fields: list[str],
                     limit: int) -> tuple[str, ...]:
        """Roles from the cells of a headerless file; a date column becomes a field only while fields remain."""
        guessed = list(layout.guess_roles([cells for _, cells in rows], width, self.region))
        if "mobile" not in guessed:
            return rowkit.guess_mobile_column(rows, width, self.region)
        known = {f.lower() for f in existing_fields}
        room = limit - len(known)
        for i, target in enumerate(guessed):
            if target.startswith("field:") and target[6:].lower() not in known:
                if room <= 0:
                    guessed[i] = "ignore"
                room -= 1
        return tuple(guessed)

    async def _classify(self, row: ImportRow, rows: Iterator[tuple[int, list[str]]],
                        mapping: tuple[str, ...]) -> dict[str, Any]:
        analyzer = an.Analyzer(mapping, self.region)
        existing = opted = changed = 0
        opted_lines: list[dict[str, Any]] = []
        change_lines: list[dict[str, Any]] = []
        async with self.db.read() as conn:
            names = {f.lower(): f for f in await contact_store.field_names(conn)}
        builder = rowkit.RowBuilder(mapping, names, "", "", "", self.clock.now())
        spool = self.spool_path(row.id)
        rejects = self.rejects_path(row.id)
        tmp = spool.with_suffix(".spool.tmp")
        tmp_rejects = rejects.with_suffix(".rejects.tmp")
        with tmp.open("w", encoding="utf-8") as out, tmp_rejects.open("w", encoding="utf-8") as out_rejects:
            while True:
                try:
                    records = await asyncio.to_thread(rowkit.classify_chunk, rows, analyzer, CHUNK_ROWS)
                except readers.FileProblem as exc:
                    tmp.unlink(missing_ok=True)
                    tmp_rejects.unlink(missing_ok=True)
                    raise InvalidInput(problems=[exc.problem.at("file")]) from None
                if analyzer.rejected:
                    rowkit.write_spool_chunk(out_rejects, analyzer.rejected)
                    analyzer.rejected.clear()
                elif not records:
                    break
                if not records:
                    continue
                numbers = [r[1] for r in records]
                async with self.db.read() as conn:
                    in_base = await contact_store.by_mobiles(conn, numbers) if row.purpose == "contacts" else \
                        dict.fromkeys(await contact_store.existing_mobiles(conn, numbers))
                    out_now = await optouts.opted_out_among(conn, numbers)
                existing += len(in_base)
                opted += len(out_now)
                for rec in records:
                    if rec[1] in out_now and len(opted_lines) < an.REPORT_LIMIT:
                        opted_lines.append({"line": rec[0], "number": rec[1]})
                    stored = in_base.get(rec[1])
                    if stored is not None and (diff := merge.changes(stored, builder.build(rec[1], rec[2]))):
                        changed += 1
                        if len(change_lines) < an.REPORT_LIMIT:
                            change_lines.append({"line": rec[0], "number": rec[1], "changes": diff})
                rowkit.write_spool_chunk(out, records)
        tmp.replace(spool)
        tmp_rejects.replace(rejects)
        counts = analyzer.report()
        counts.update({"already_in_base": existing, "opted_out": {"count": opted, "lines": opted_lines},
                       "spooled_mobile_column": mapping.index("mobile"),
                       "would_update": {"count": changed, "unchanged": existing - changed, "lines": change_lines}})
        return counts

    def rejects_path(self, import_id: int) -> Path:
        return self.directory / f"{import_id}.rejects"

    async def rejected_rows(self, import_id: int, word: Wording = english,
                            ) -> tuple[list[str], AsyncIterator[list[list[Any]]]]:
        """The analysed file's rejected rows, for a CSV: (header, batches of [line, reason, *cells]),
        each reason worded by `word` (English for the API, the user's language in the console)."""
        row = await self.get(import_id)
        path = self.rejects_path(import_id)
        if row.analysis is None or "valid" not in row.analysis or not path.exists():
            raise Conflict(code="import.no_rejects", id=import_id)
        headers = list(row.analysis.get("headers", []))

        async def batches() -> AsyncIterator[list[list[Any]]]:
            it = rowkit.read_spool(path)
            while (records := await asyncio.to_thread(next, it, None)) is not None:
                yield [[line, worded(reason, word), *cells] for line, reason, cells in records]

        return ["line", "reason", *headers], batches()

    # --- step 2 -----------------------------------------------------------------------------------

    async def commit(self, import_id: int, options: CommitOptions) -> dict[str, Any]:
        """Step 2: write contacts and memberships in one transaction; returns the final report."""
        row = await self.get(import_id)
        if row.purpose != "contacts":
            raise Conflict(code="import.recipient_file", id=import_id)
        if row.state == "committed":
            raise Conflict(code="import.committed", id=import_id)
        statement = options.certification.statement.strip()
        if not statement:
            raise InvalidInput("optin.statement", code="import.statement_required")
        analysis = row.analysis
        if options.mapping is not None:
            columns = analysis["columns"] if analysis else len(options.mapping)
            problems = an.validate_mapping(options.mapping, columns)
            if problems:
                raise InvalidInput(problems=problems)
        mapping = options.mapping or (tuple(analysis["mapping"]) if analysis else None)
        if analysis is None or mapping is None or "valid" not in analysis or \
                tuple(mapping).index("mobile") != analysis.get("spooled_mobile_column") or \
                len(mapping) != analysis["columns"] or not self.spool_path(import_id).exists():
            # The same header row as the analysis the user saw (0: the file had none).
            header_line = (analysis.get("header_line") or 0) if analysis and "header_line" in analysis else None
            analysis = await self.analyse(import_id, sheet=(analysis or {}).get("sheet"), mapping=mapping,
                                          header_line=header_line)
            mapping = tuple(analysis["mapping"])
        problems = an.validate_mapping(mapping, analysis["columns"])
        if problems:
            raise InvalidInput(problems=problems)
        new_fields = [m[6:] for m in mapping if m.startswith("field:")]
        now = self.clock.now()
        optin_source = f"import #{import_id} ({row.filename})"
        report: dict[str, Any] = {"created": 0, "updated": 0, "unchanged": 0, "skipped_existing": 0,
                                  "skipped_opted_out": 0, "kept_opted_out": 0, "groups": [], "groups_created": [],
                                  "optin": {
                                      "statement": statement, "by": options.certification.actor,
                                      "at": utc_iso(now)}}
        async with self.db.write() as conn:
            fields = await contact_store.field_names(conn)
            known = {f.lower(): f for f in fields}
            added = [f for f in dict.fromkeys(new_fields) if f.lower() not in known]
            if len(known) + len(added) > an.MAX_CUSTOM_FIELDS:
                raise InvalidInput("mapping", code="import.too_many_fields", known=len(known), added=len(added),
                                   max=an.MAX_CUSTOM_FIELDS)
            await contact_store.add_field_names(conn, added, now)
            names = {f.lower(): f for f in await contact_store.field_names(conn)}
            group_ids = list(dict.fromkeys(options.group_ids))
            for gid in group_ids:
                g = await group_store.get_in(conn, gid)
                if g is None:
                    raise InvalidInput("groups", code="group.not_found_id", id=gid)
                if g.rule is not None:
                    raise InvalidInput("groups", code="group.rule_based", name=g.name)
            for name in dict.fromkeys(n.strip() for n in options.new_groups if n.strip()):
                found = await group_store.by_names(conn, [name])
                if found:
                    group_ids.append(found[name.lower()])
                    continue
                group_ids.append(await group_store.insert(conn, name=name[:100], description=optin_source,
                                                          rule=None, now=now))
            report["groups"] = group_ids
            # Pipelined: the next chunk is built while SQLite (in its own thread) writes this one.
            pending: asyncio.Task[None] | None = None
            try:
                builder = rowkit.RowBuilder(mapping, names, optin_source, statement, options.certification.actor, now)
                for records in rowkit.read_spool(self.spool_path(import_id)):
                    batch = [builder.build(number, cells) for _line, number, cells in records]
                    named: dict[str, list[str]] = {}  # a 'groups' column: group name -> numbers
                    if builder.groups_col is not None:
                        for _line, number, cells in records:
                            for name in builder.group_names(cells):
                                named.setdefault(name, []).append(number)
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(
                        self._write_chunk(conn, batch, group_ids, options, report, now, named, optin_source))
                if pending is not None:
                    await pending
            except BaseException:
                if pending is not None and not pending.done():
                    await asyncio.gather(pending, return_exceptions=True)  # finish before ROLLBACK
                raise
            report["invalid"] = analysis["invalid"]["count"]
            report["duplicates_in_file"] = analysis["duplicates_in_file"]["count"]
            if not await import_store.mark_committed(conn, import_id, report, now):
                raise Conflict(code="import.committed", id=import_id)
        self._discard_files(import_id, Path(row.path))
        log.info("import %d committed: %d created, %d updated", import_id, report["created"], report["updated"])
        return report

    @staticmethod
    async def _write_chunk(conn: Any, batch: list[tuple[Any, ...]], group_ids: list[int],
                           options: CommitOptions, report: dict[str, Any], now: Any,
                           named: dict[str, list[str]], optin_source: str) -> None:
        blocked = await optouts.opted_out_among(conn, [row[0] for row in batch])
        if blocked:
            if options.keep_opted_out_contacts:
                report["kept_opted_out"] += len(blocked)
            else:
                # Never (re)subscribed by an import: opted-out numbers are left out entirely.
                report["skipped_opted_out"] += len(blocked)
                batch = [row for row in batch if row[0] not in blocked]
        members = [row[0] for row in batch]
        inserted, updated = await contact_store.upsert_rows(conn, batch, update_existing=options.update_existing,
                                                            now=now)
        report["created"] += inserted
        report["updated"] += updated
        # Existing contacts the file would not change are left alone (their updated_at too).
        report["unchanged" if options.update_existing else "skipped_existing"] += len(batch) - inserted - updated
        if group_ids:
            await group_store.add_members_by_mobile(conn, group_ids, members, now)
        if named:
            found = await group_store.by_names(conn, list(named))
            for name, numbers in named.items():
                gid = found.get(name.lower())
                if gid is None:
                    gid = await group_store.insert(conn, name=name, description=optin_source, rule=None, now=now)
                    report["groups_created"].append(name)
                else:
                    group = await group_store.get_in(conn, gid)
                    if group is None or group.rule is not None:
                        continue  # a rule-based group's members follow its rule
                allowed = set(members)
                await group_store.add_members_by_mobile(conn, [gid], [n for n in numbers if n in allowed], now)

    def _discard_files(self, import_id: int, upload: Path) -> None:
        for path in (upload, self.spool_path(import_id)):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove %s: %s", path, exc.strerror)

    async def spooled(self, import_id: int) -> AsyncIterator[list[list[Any]]]:
        """The analysed valid rows of a recipient file, chunk by chunk ([line, e164, cells])."""
        path = self.spool_path(import_id)
        if not path.exists():
            raise Conflict(code="import.not_analysed", id=import_id)
        it = rowkit.read_spool(path)
        while True:
            records = await asyncio.to_thread(next, it, None)
            if records is None:
                return
            yield records
