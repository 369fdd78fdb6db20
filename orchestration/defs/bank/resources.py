"""The bank inbox resource, configured from the environment (CLOSE_BANK_INBOX, CLOSE_BANK_CSV_CONFIG)."""

import json
import os

import dagster as dg

from ledger.sources.bank.csv_statement import CsvConfig
from ledger.sources.bank.inbox import Inbox, open_inbox


class BankInboxResource(dg.ConfigurableResource):
    """Where bank statement files arrive: a folder or s3://bucket/prefix (CLOSE_BANK_INBOX); empty = none.

    `csv_config_path` is the JSON column mapping for `*.csv` exports (CLOSE_BANK_CSV_CONFIG).
    """

    location: str = ""
    csv_config_path: str = ""

    def inbox(self) -> Inbox | None:
        return open_inbox(self.location) if self.location else None

    def csv_config(self) -> CsvConfig | None:
        if not self.csv_config_path:
            return None
        with open(self.csv_config_path, encoding="utf-8") as file:
            return CsvConfig.from_mapping(json.load(file))


@dg.definitions
def bank_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "bank_inbox": BankInboxResource(
                location=os.environ.get("CLOSE_BANK_INBOX", ""),
                csv_config_path=os.environ.get("CLOSE_BANK_CSV_CONFIG", ""),
            )
        }
    )
