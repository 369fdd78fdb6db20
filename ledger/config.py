"""Settings from the environment, documented one by one in `.env.example`.

Relative paths resolve against the working directory once, here, so that every process of a run
(Dagster, the dbt subprocess, the exporters) agrees on the same absolute files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ledger.sources.stripe_api import DEFAULT_API_BASE

SOURCES = ("api", "data_pipeline", "sandbox")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class CloseSettings:
    source: str
    warehouse: Path
    export_dir: Path
    stripe_api_key: str = field(repr=False)
    stripe_api_base: str
    entity_id: str
    reporting_timezone: str
    bank_inbox: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "CloseSettings":
        env = os.environ if environ is None else environ
        source = env.get("CLOSE_SOURCE", "api")
        if source not in SOURCES:
            raise ConfigError(f"CLOSE_SOURCE={source!r} is not one of {', '.join(SOURCES)}")
        entity_id = env.get("CLOSE_ENTITY_ID", "main")
        if not entity_id.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"CLOSE_ENTITY_ID={entity_id!r} may only hold letters, digits, '-' and '_' (it becomes part of ERP external ids)")
        return cls(
            source=source,
            warehouse=Path(env.get("CLOSE_WAREHOUSE", ".close/warehouse.duckdb")).resolve(),
            export_dir=Path(env.get("CLOSE_EXPORT_DIR", "exports")).resolve(),
            stripe_api_key=env.get("STRIPE_API_KEY", ""),
            stripe_api_base=env.get("STRIPE_API_BASE", DEFAULT_API_BASE),
            entity_id=entity_id,
            reporting_timezone=env.get("CLOSE_REPORTING_TIMEZONE", "UTC"),
            bank_inbox=env.get("CLOSE_BANK_INBOX", ""),
        )

    def process_environment(self) -> dict[str, str]:
        """The variables child processes (dbt) need to see the same settings."""
        return {
            "CLOSE_SOURCE": self.source,
            "CLOSE_WAREHOUSE": str(self.warehouse),
            "CLOSE_EXPORT_DIR": str(self.export_dir),
            "STRIPE_API_BASE": self.stripe_api_base,
            "CLOSE_ENTITY_ID": self.entity_id,
            "CLOSE_REPORTING_TIMEZONE": self.reporting_timezone,
            "CLOSE_BANK_INBOX": self.bank_inbox,
        }
