"""What every `stripe-close` subcommand shares: its parser's shape, the argument types, the refusal.

Periods are checked here, once, by argparse, so every subcommand refuses `2026-13` the same way,
before it opens anything (exit 2). A user mistake found later (no key, no ledger yet, a folder
that is not there) is raised as `UserMistake` and printed by `main` as one line with its exit code.
"""

from __future__ import annotations

import argparse
from datetime import date

from ledger.period_close import PERIOD_FORMAT


class UserMistake(Exception):
    """Something the user can fix (a missing file, key or build): one line on stderr, no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a malformed command line is one line naming the fix, not the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def command_name(args: argparse.Namespace) -> str:
    """The subcommand as typed: `package`, `bank load`, `bench close`."""
    return " ".join(filter(None, (args.command, getattr(args, "bank_command", None), getattr(args, "sandbox_command", None),
                                  getattr(args, "bench_target", None))))


def add_command(subcommands: argparse._SubParsersAction, name: str, summary: str, example: str,
                description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand whose `--help` says what it does (`description`, else `summary`) and shows `example`."""
    command = subcommands.add_parser(
        name, help=summary, description=description or summary[0].upper() + summary[1:] + ".",
        epilog=f"example: {example}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Absent here, it leaves the global option's value alone: `stripe-close --verbose run` and `stripe-close run --verbose` both work.
    add_verbose(command, argparse.SUPPRESS)
    return command


def add_verbose(parser: argparse.ArgumentParser, default: object = False) -> None:
    """The global `--verbose`."""
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="dbt's and Dagster's logs on stderr instead of a log file under .close/logs/ (next to CLOSE_WAREHOUSE)")


def period(value: str) -> str:
    """An accounting period, YYYY-MM (argparse type)."""
    if not PERIOD_FORMAT.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a month in the form YYYY-MM (e.g. 2026-10)")
    return value


def day(value: str) -> date:
    """A calendar day, YYYY-MM-DD (argparse type)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day in the form YYYY-MM-DD (e.g. 2026-10-01)") from None


def at_least(minimum: int):
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{number} is below the minimum of {minimum}")
        return number

    parse.__name__ = "number"
    return parse


def add_allow_empty(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--allow-empty", action="store_true",
                        help=f"{what} even when the period has no journal lines (otherwise refused: nothing was booked)")


def require_ordered(start, end) -> None:
    """`--end` on or after `--start` (either may be absent)."""
    if start and end and end < start:
        raise UserMistake(f"--end {end} is before --start {start}")
