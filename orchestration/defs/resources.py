"""Typed resources, configured from the environment (see `.env.example`)."""

import os
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from ledger.sources.stripe_api import DEFAULT_API_BASE, StripeApiSettings
from ledger.dbt_project import dbt_executable
from orchestration.defs.transform.project import dbt_project


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: every user of it runs in pool `duckdb`."""

    path: str

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()


class StripeApiResource(dg.ConfigurableResource):
    """The Stripe API, through the official SDK. A restricted read-only key is enough."""

    api_key: str
    api_base: str = DEFAULT_API_BASE

    def settings(self) -> StripeApiSettings:
        return StripeApiSettings(api_key=self.api_key, api_base=self.api_base)


class ExportResource(dg.ConfigurableResource):
    """Where GL exports and close packages go, and the default entity (CLOSE_ENTITY_ID), whose close package also lists the bank lines no payout claims."""

    directory: str
    entity_id: str = "main"

    @property
    def root(self) -> Path:
        return Path(self.directory).resolve()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(path=os.environ.get("CLOSE_WAREHOUSE", ".close/warehouse.duckdb")),
            "stripe": StripeApiResource(
                api_key=dg.EnvVar("STRIPE_API_KEY"),
                api_base=os.environ.get("STRIPE_API_BASE", DEFAULT_API_BASE),
            ),
            "exports": ExportResource(
                directory=os.environ.get("CLOSE_EXPORT_DIR", "exports"),
                entity_id=os.environ.get("CLOSE_ENTITY_ID", "main"),
            ),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        }
    )
