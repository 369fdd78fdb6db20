"""Unambiguous departures from a format that a parser reads anyway, recorded as warnings.

Banks do not all write their formats to the letter: a trailing SUB byte, '.' as MT940's decimal
separator, a `:61:` without its transaction type, a blank BAI2 49 total. Where what the bank
meant is certain, the file is read and each kind of departure becomes one warning naming the
first line where it occurs (and how many lines in all) and what was assumed. The warnings are
stored with the file (`raw.bank_statement_files.warnings`, whose row names the file, like the
CLI and the check that print them) and surface as a warning check (`no_file_warnings`) and a
reconciliation exception (`bank_file_warning`); they never stop the close. Damage whose meaning is not certain
(totals that disagree, truncated files) is still refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Occurrences:
    first_line: int
    last_line: int
    count: int = 1


@dataclass
class Deviations:
    """One file's departures, one warning per kind (in the order they were first seen)."""

    _seen: dict[str, _Occurrences] = field(default_factory=dict)

    def add(self, line: int, what_and_assumption: str) -> None:
        """`what_and_assumption` names the departure and what was read instead, the same text for every line."""
        seen = self._seen.get(what_and_assumption)
        if seen is None:
            self._seen[what_and_assumption] = _Occurrences(line, line)
        else:
            seen.count += 1
            seen.last_line = line

    def warnings(self) -> tuple[str, ...]:
        return tuple(
            f"line {seen.first_line}: {text}"
            + (f" ({seen.count} lines in all, the last line {seen.last_line})" if seen.count > 1 else "")
            for text, seen in self._seen.items()
        )
