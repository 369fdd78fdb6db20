"""Ingestion settings from the environment (each variable documented in `.env.example`).

Bad values stop the run before anything is read or written, with the variable named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.config import SOURCES, ConfigError
from ledger.sources.data_pipeline import DataPipelineSettings
from ledger.sources.source_tables import parse_allowlist
from ledger.sources.stripe_api import DEFAULT_API_BASE, SOURCE_MODES, StripeApiSettings
from ledger.sources.stripe_http import RetryPolicy

# StripeApiSettings field -> (variable, parser, lowest allowed value)
API_VARIABLES: dict[str, tuple[str, Callable[[str], Any], float]] = {
    "max_requests_per_second": ("STRIPE_MAX_REQUESTS_PER_SECOND", float, 0.1),
    "workers": ("STRIPE_INGEST_WORKERS", int, 1),
    "slice_seconds": ("STRIPE_INGEST_SLICE_SECONDS", int, 60),
    "overlap_seconds": ("STRIPE_INGEST_OVERLAP_SECONDS", int, 0),
    "payout_lookback_days": ("STRIPE_PAYOUT_LOOKBACK_DAYS", int, 0),
}
MAX_ATTEMPTS_VARIABLE = "STRIPE_MAX_ATTEMPTS"
RATE_LIMIT_RETRY_VARIABLE = "STRIPE_RATE_LIMIT_RETRY_SECONDS"
ACCOUNTS_VARIABLE = "STRIPE_ACCOUNT_IDS"
ACCOUNT_VARIABLE = "STRIPE_ACCOUNT_ID"
SOURCE_OBJECTS_VARIABLE = "STRIPE_SOURCE_OBJECTS"
PERSONAL_DATA_VARIABLE = "CLOSE_PERSONAL_DATA_ALLOWLIST"
DATA_PIPELINE_VARIABLES: dict[str, str] = {
    "uri": "CLOSE_DATA_PIPELINE_URI",
    "mode": "CLOSE_DATA_PIPELINE_MODE",
    "table_template": "CLOSE_DATA_PIPELINE_TABLE_TEMPLATE",
    "marker_template": "CLOSE_DATA_PIPELINE_MARKER_TEMPLATE",
    "run_format": "CLOSE_DATA_PIPELINE_RUN_FORMAT",
    "endpoint_url": "AWS_ENDPOINT_URL",
}


def _number(env: Mapping[str, str], variable: str, parse: Callable[[str], Any], lowest: float) -> Any:
    raw = env[variable]
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a {'whole ' if parse is int else ''}number") from None
    if value < lowest:
        raise ConfigError(f"{variable}={raw!r} must be at least {lowest}")
    return value


def api_settings_from_env(env: Mapping[str, str]) -> StripeApiSettings:
    tuning = {name: _number(env, variable, parse, lowest) for name, (variable, parse, lowest) in API_VARIABLES.items() if env.get(variable)}
    retry = {
        field_name: _number(env, variable, parse, lowest)
        for field_name, variable, parse, lowest in (("max_attempts", MAX_ATTEMPTS_VARIABLE, int, 1), ("rate_limit_budget_s", RATE_LIMIT_RETRY_VARIABLE, float, 0))
        if env.get(variable)
    }
    if retry:
        tuning["retry"] = RetryPolicy(**retry)
    source_objects = env.get(SOURCE_OBJECTS_VARIABLE) or StripeApiSettings.source_objects
    if source_objects not in SOURCE_MODES:
        raise ConfigError(f"{SOURCE_OBJECTS_VARIABLE}={source_objects!r} is not one of {', '.join(SOURCE_MODES)}")
    return StripeApiSettings(api_key=env.get("STRIPE_API_KEY", ""), api_base=env.get("STRIPE_API_BASE") or DEFAULT_API_BASE,
                             accounts=_accounts(env), account_id=_own_account(env), source_objects=source_objects,
                             personal_data=personal_data_from_env(env), **tuning)


def personal_data_from_env(env: Mapping[str, str]) -> frozenset[str]:
    """CLOSE_PERSONAL_DATA_ALLOWLIST: the personal-data columns (`table.column`) to store; none by default."""
    try:
        return parse_allowlist(env.get(PERSONAL_DATA_VARIABLE, ""))
    except ValueError as error:
        raise ConfigError(f"{PERSONAL_DATA_VARIABLE}: {error}") from None


def _own_account(env: Mapping[str, str]) -> str | None:
    """STRIPE_ACCOUNT_ID: the key's own account id, which otherwise comes from GET /v1/account."""
    account = env.get(ACCOUNT_VARIABLE, "").strip()
    if account and not account.startswith("acct_"):
        raise ConfigError(f"{ACCOUNT_VARIABLE}={account!r} is not a Stripe account id (acct_...)")
    return account or None


def _accounts(env: Mapping[str, str]) -> tuple[str, ...]:
    """STRIPE_ACCOUNT_IDS: comma-separated `acct_...` ids; empty means the key's own account."""
    accounts = tuple(dict.fromkeys(part.strip() for part in env.get(ACCOUNTS_VARIABLE, "").split(",") if part.strip()))
    malformed = [account for account in accounts if not account.startswith("acct_")]
    if malformed:
        raise ConfigError(f"{ACCOUNTS_VARIABLE}: {', '.join(repr(a) for a in malformed)} is not a Stripe account id (acct_...)")
    return accounts


def data_pipeline_settings_from_env(env: Mapping[str, str]) -> DataPipelineSettings:
    values: dict[str, Any] = {name: env[variable] for name, variable in DATA_PIPELINE_VARIABLES.items() if env.get(variable)}
    values["personal_data"] = personal_data_from_env(env)
    if "uri" not in values:
        raise ConfigError("CLOSE_DATA_PIPELINE_URI is not set: give the s3://bucket/prefix Stripe Data Pipeline delivers to")
    try:
        return DataPipelineSettings(**values)
    except ValueError as error:
        named = ", ".join(DATA_PIPELINE_VARIABLES[name] for name in values if name in DATA_PIPELINE_VARIABLES)
        raise ConfigError(f"{error} (from {named})") from None


@dataclass(frozen=True)
class IngestSettings:
    """Which source fills the raw tables, and how."""

    source: str
    api: StripeApiSettings = field(repr=False)
    data_pipeline: DataPipelineSettings | None = None

    @property
    def uses_data_pipeline(self) -> bool:
        return self.source == "data_pipeline"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "IngestSettings":
        source = env.get("CLOSE_SOURCE", "api")
        if source not in SOURCES:
            raise ConfigError(f"CLOSE_SOURCE={source!r} is not one of {', '.join(SOURCES)}")
        data_pipeline = data_pipeline_settings_from_env(env) if source == "data_pipeline" else None
        return cls(source=source, api=api_settings_from_env(env), data_pipeline=data_pipeline)

    def with_api(self, api: StripeApiSettings) -> "IngestSettings":
        """These settings with the key and address of `api` (e.g. from a Dagster resource)."""
        return dataclasses.replace(self, api=dataclasses.replace(self.api, api_key=api.api_key, api_base=api.api_base))
