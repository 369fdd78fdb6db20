"""The sandbox NetSuite and SAP servers of one close, with the settings that point a close at them
and a read of what each holds: for whole closes that push (`stripe-close chaos`, end-to-end tests)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.dbt_project import DBT_PROJECT_DIR
from sandbox.netsuite_server import SandboxNetSuiteServer, TokenBasedCredentials
from sandbox.sap_server import SandboxSapServer

NETSUITE_SECRETS = {"NETSUITE_CONSUMER_SECRET": "ns-consumer-secret-sandbox", "NETSUITE_TOKEN_SECRET": "ns-token-secret-sandbox"}
SAP_USER, SAP_PASSWORD = "STRIPE_COMM", "sap-password-sandbox"
# The main entity's company code in seeds/entities.csv.
SAP_COMPANY_CODES = {"1000"}


def netsuite_references(path: Path) -> dict[str, str]:
    """Write NetSuite internal ids for every ledger account (account code 1010 -> 11010), the
    currencies and the main entity; returns the accounts' ids by code."""
    with (DBT_PROJECT_DIR / "seeds" / "gl_accounts.csv").open(newline="") as stream:
        accounts = {row["account_code"]: f"1{row['account_code']}" for row in csv.DictReader(stream)}
    rows = [("subsidiary", "main", "1"), ("currency", "usd", "1"), ("currency", "eur", "2"), ("currency", "jpy", "3")]
    rows += [("account", code, internal_id) for code, internal_id in accounts.items()]
    with path.open("w", newline="") as stream:
        csv.writer(stream).writerows([("kind", "key", "internal_id"), *rows])
    return accounts


@dataclass(frozen=True)
class ErpSandboxes:
    netsuite: SandboxNetSuiteServer
    sap: SandboxSapServer
    environment: dict[str, str]

    def books(self) -> dict[str, list]:
        """What each ERP holds, independent of the order it was posted in: NetSuite entries by
        external id, SAP documents by reference (document numbers depend on posting order)."""
        store = self.netsuite.store
        with store.lock:
            external_ids = sorted(row[0] for row in store.database.execute('select externalid from "transaction"'))
            netsuite = [{key: value for key, value in store.read(external_id).items() if key != "id"} for external_id in external_ids]
        sap: dict[str, list] = {}
        for items in self.sap.documents().values():
            lines = sorted((item.company_code, item.posting_date, item.gl_account, str(item.amount), item.currency, item.debit_credit_code) for item in items)
            sap.setdefault(items[0].document_reference_id, []).append(lines)
        return {"netsuite": netsuite, "sap": sorted(sap.items())}


@contextmanager
def erp_sandboxes(workdir: Path) -> Iterator[ErpSandboxes]:
    """NetSuite (token-based auth) and SAP on 127.0.0.1, and the NETSUITE_*/SAP_* settings for them."""
    workdir.mkdir(parents=True, exist_ok=True)
    references = workdir / "netsuite_references.csv"
    accounts = netsuite_references(references)
    netsuite = SandboxNetSuiteServer(
        "7654321_SB1", TokenBasedCredentials("ck-sandbox", NETSUITE_SECRETS["NETSUITE_CONSUMER_SECRET"], "tid-sandbox", NETSUITE_SECRETS["NETSUITE_TOKEN_SECRET"]),
        currency_ids={"1", "2", "3"}, account_ids=set(accounts.values()), latency_s=0,
    )
    sap = SandboxSapServer(SAP_USER, SAP_PASSWORD, company_codes=SAP_COMPANY_CODES, latency_s=0)
    with netsuite, sap:
        yield ErpSandboxes(netsuite, sap, {
            "NETSUITE_ACCOUNT_ID": "7654321-sb1", "NETSUITE_REST_URL": netsuite.url, "NETSUITE_CONSUMER_KEY": "ck-sandbox",
            "NETSUITE_TOKEN_ID": "tid-sandbox", "NETSUITE_REFERENCES_FILE": str(references), "NETSUITE_VERIFY": "1",
            "SAP_URL": sap.url, "SAP_USER": SAP_USER, "SAP_PASSWORD": SAP_PASSWORD, **NETSUITE_SECRETS,
        })
