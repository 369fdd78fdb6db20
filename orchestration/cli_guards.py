"""The checks a subcommand makes before it starts work, each turning a user mistake into one line.

Each raises `cli_args.UserMistake` (printed by `main` with its exit code): a close against a Stripe
API that is not there or refuses the key, a `close` before anything was ingested, a package, an
export or a reopen before any close built a ledger, or of a period where nothing was booked (which
would look like a clean, empty month).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from exporters.entities import EntityConfigError, load_entities, select_entities
from ledger.config import CloseSettings
from ledger.period_activity import LedgerMissing, journal_line_count, require_ingested, require_ledger
from ledger.sources.ingest_settings import api_settings_from_env
from ledger.sources.stripe_preflight import StripeUnavailable, check_stripe_api
from orchestration.cli_args import UserMistake

# A period without journal lines refused: not bad input, but nothing to hand over either.
EMPTY_PERIOD_EXIT = 1


def require_stripe_api(settings: CloseSettings) -> None:
    """For the API sources: the key is set, the API answers and accepts it."""
    if settings.source == "data_pipeline":
        return
    try:
        check_stripe_api(api_settings_from_env({**os.environ, "STRIPE_API_KEY": settings.stripe_api_key,
                                                "STRIPE_API_BASE": settings.stripe_api_base}))
    except StripeUnavailable as error:
        raise UserMistake(str(error)) from None


def require_bank_inbox(location: str, setting: str = "") -> None:
    """A local bank inbox is a folder that exists (an s3:// prefix is listed when it is read): a
    mistyped folder would close the month as if the bank had sent nothing."""
    if location and not location.startswith("s3://") and not Path(location).is_dir():
        named = f"{setting}: " if setting else ""
        raise UserMistake(f"{named}bank inbox folder {location} does not exist (give a folder or an s3://bucket/prefix)")


def require_built(warehouse: Path, ingested_only: bool = False) -> None:
    """A ledger in `warehouse`, or with `ingested_only` Stripe data to build it from; a command
    without either would fail on every dbt model or read nothing."""
    try:
        if ingested_only:
            require_ingested(warehouse)
        else:
            require_ledger(warehouse)
    except LedgerMissing as error:
        raise UserMistake(str(error)) from None


def require_journal_lines(warehouse: Path, period: str, entity_id: str | None, allow_empty: bool, what: str) -> int:
    """A built ledger, and journal lines in `period` (of `entity_id`) unless `allow_empty`: how many."""
    try:
        lines = journal_line_count(warehouse, period, entity_id)
    except LedgerMissing as error:
        raise UserMistake(str(error)) from None
    if not lines and entity_id is not None:
        _require_known_entity(warehouse, entity_id)
    if not lines and not allow_empty:
        whose = f" of entity {entity_id!r}" if entity_id else ""
        raise UserMistake(f"refused: no journal lines{whose} in {period}, so there is nothing to {what} "
                          "(pass --allow-empty to do it anyway)", EMPTY_PERIOD_EXIT)
    return lines


def _require_known_entity(warehouse: Path, entity_id: str) -> None:
    """An entity named on the command line is one of the seed's: an unknown one has no lines, but
    saying so would send the user after a month's data instead of a typo."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        entities = load_entities(connection)
    try:
        select_entities(entities, (), entity_id)
    except EntityConfigError as error:
        raise UserMistake(str(error)) from None
