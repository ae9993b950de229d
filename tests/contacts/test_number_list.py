"""Lists of numbers (a STOP list handed over by a previous provider), without I/O."""

from __future__ import annotations

from gatewayd.contacts.number_list import REPORTED, collect_numbers, pasted_rows


def rows(*lines: str, sep: str = ";") -> list[tuple[int, list[str]]]:
    return [(i, line.split(sep)) for i, line in enumerate(lines, start=1)]


def test_the_number_column_is_found_and_the_header_skipped() -> None:
    found = collect_numbers(rows("Nom;Téléphone;Date STOP", "Dupont;06 12 34 56 78;2025-03-01",
                                 "Martin;+33 6 98 76 54 32;2025-04-02", ";;", "Durand;0612345678;2025-05-03",
                                 "Roux;12;2025-06-04"), "FR")
    assert found.numbers == ["+33612345678", "+33698765432"]
    assert found.duplicates == 1 and found.invalid == 1
    assert [(line, cell) for line, cell, _ in found.invalid_lines] == [(6, "12")]


def test_a_pasted_list_keeps_its_first_line_and_says_why_a_line_is_refused() -> None:
    found = collect_numbers(pasted_rows("abc\n06 12 34 56 78, 0698765432;\n\n+44 7911 123456\t<script>"), "FR",
                            file=False)
    assert found.numbers == ["+33612345678", "+33698765432", "+447911123456"]
    assert [cell for _, cell, _ in found.invalid_lines] == ["abc", "<script>"]
    assert all(reason for _, _, reason in found.invalid_lines)


def test_only_the_first_unreadable_lines_are_named() -> None:
    found = collect_numbers(rows(*(["Mobile"] + ["0612345678"] + [f"x{i}" for i in range(REPORTED + 15)])), "FR")
    assert found.invalid == REPORTED + 15 and len(found.invalid_lines) == REPORTED
    assert found.numbers == ["+33612345678"]


def test_nothing_in_nothing_out() -> None:
    found = collect_numbers([], "FR")
    assert (found.numbers, found.invalid, found.duplicates) == ([], 0, 0)
