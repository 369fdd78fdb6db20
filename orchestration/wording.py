"""How the command line says a count: '1 payout', '2 payouts', '12,345 balance transactions'."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """`number` with thousands separators and the noun that agrees with it (`plural` for the irregular ones: 'entries')."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def files_summary(locations: list[str]) -> list[str]:
    """'Wrote 3 files:' and a line per path (or s3:// URI)."""
    return [f"Wrote {counted(len(locations), 'file')}" + (":" if locations else ""), *(f"  {location}" for location in locations)]
