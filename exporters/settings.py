"""Export and push settings from the environment (`.env.example` documents each variable).

What differs between entities (the NetSuite subsidiary, the SAP company code) is not here: it
comes from the seed `entities` per entity (`exporters.entities`), filled in by `netsuite_options`
and `sap_options`. The variables that once set it for a single entity, `NETSUITE_SUBSIDIARY` and
`SAP_COMPANY_CODE`, are refused with a pointer to the seed, so that a value an operator still
expects to apply is never silently ignored.

What each target does with an entry in a currency it cannot carry (`NETSUITE_CURRENCY_POLICY`,
`SAP_CURRENCY_POLICY`; SAP's decimals per currency `SAP_CURRENCY_DECIMALS`) is read here and
applied by `exporters.currency_policy`.

Secrets (`NETSUITE_CONSUMER_SECRET`, `NETSUITE_TOKEN_SECRET`, the M2M private key, `SAP_PASSWORD`)
live only in `repr=False` fields of the credential objects; no error here quotes a value.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from exporters.currency_policy import CurrencyPolicy, TargetPrecision, parse_decimals
from exporters.entities import Entity, EntityConfigError
from exporters.netsuite import MAX_DECIMALS, NetSuiteOptions
from exporters.netsuite_auth import ClientCredentials, NetSuiteAccount, TokenCredentials
from exporters.netsuite_rest import DEFAULT_CONCURRENCY, NetSuiteReferences, NetSuiteRestClient
from exporters.publish import Destination
from exporters.sap import SapOptions
from exporters.sap_soap import SapEndpoint, SapSoapClient
from ledger.config import ConfigError

REFERENCE_KINDS = ("subsidiary", "currency", "account")
# Variables replaced by the seed's columns, refused when set.
REPLACED_BY_SEED = {"NETSUITE_SUBSIDIARY": "netsuite_subsidiary", "SAP_COMPANY_CODE": "sap_company_code"}


def load_references(path: Path) -> dict[str, dict[str, str]]:
    """`kind,key,internal_id` rows: subsidiary by entity id, currency by ISO code, account by ledger code."""
    found: dict[str, dict[str, str]] = {kind: {} for kind in REFERENCE_KINDS}
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            for number, row in enumerate(csv.DictReader(stream), start=2):
                if row.get("kind") not in REFERENCE_KINDS or not row.get("key") or not row.get("internal_id"):
                    raise ConfigError(f"{path} line {number}: expected kind ({'|'.join(REFERENCE_KINDS)}), key and internal_id")
                found[row["kind"]][row["key"].lower() if row["kind"] == "currency" else row["key"]] = row["internal_id"]
    except FileNotFoundError:
        raise ConfigError(f"NETSUITE_REFERENCES_FILE={path} does not exist") from None
    return found


@dataclass(frozen=True)
class NetSuitePush:
    account: NetSuiteAccount
    credentials: TokenCredentials | ClientCredentials
    # Internal ids from NETSUITE_REFERENCES_FILE: subsidiary by entity id, currency by ISO code, account by code.
    references: Mapping[str, Mapping[str, str]]
    concurrency: int = DEFAULT_CONCURRENCY
    verify: bool = False

    def subsidiary_id(self, entity: Entity) -> str:
        """REST needs the subsidiary's internal id: the references file's row for the entity, else the
        seed's `netsuite_subsidiary` (which the CSV import file carries too)."""
        found = self.references["subsidiary"].get(entity.entity_id) or entity.netsuite_subsidiary
        if not found:
            raise EntityConfigError(
                f"entity {entity.entity_id!r} ({entity.entity_name}) has no NetSuite subsidiary: netsuite_subsidiary is empty in "
                f"seeds/entities.csv (table accounting.entities) and NETSUITE_REFERENCES_FILE has no subsidiary row for it; nothing was pushed"
            )
        return found

    def client(self, entity: Entity) -> NetSuiteRestClient:
        references = NetSuiteReferences(self.subsidiary_id(entity), self.references["currency"], self.references["account"])
        return NetSuiteRestClient(self.account, self.credentials.auth(self.account), references, self.concurrency)


@dataclass(frozen=True)
class SapPush:
    endpoint: SapEndpoint
    batch_size: int = 50

    def client(self, options: SapOptions) -> SapSoapClient:
        return SapSoapClient(self.endpoint, options, self.batch_size)


@dataclass(frozen=True)
class ExportSettings:
    destination: Destination
    # Without the subsidiary and company code: `netsuite_options` and `sap_options` add the entity's.
    netsuite: NetSuiteOptions
    sap: SapOptions
    netsuite_push: NetSuitePush | None = None
    sap_push: SapPush | None = None
    netsuite_currency_policy: CurrencyPolicy = CurrencyPolicy("NETSUITE_CURRENCY_POLICY")
    sap_currency_policy: CurrencyPolicy = CurrencyPolicy("SAP_CURRENCY_POLICY")

    def currency_rules(self, target: str, push: bool = False) -> tuple[TargetPrecision, CurrencyPolicy]:
        """What `target` keeps of each currency and its policy for the rest; the REST push to NetSuite
        carries no functional amounts (NetSuite computes base amounts itself)."""
        if target == "netsuite":
            return TargetPrecision("netsuite", "NetSuite", MAX_DECIMALS, carries_functional=not push), self.netsuite_currency_policy
        if target == "sap":
            return TargetPrecision("sap", "SAP (TCURX)", decimals_by_currency=self.sap.currency_decimals), self.sap_currency_policy
        raise ValueError(f"no ERP currency rules for target {target!r}")

    def netsuite_options(self, entity: Entity) -> NetSuiteOptions:
        return replace(self.netsuite, subsidiary=entity.erp_id("netsuite_subsidiary"))

    def sap_options(self, entity: Entity) -> SapOptions:
        return replace(self.sap, company_code=entity.erp_id("sap_company_code"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ExportSettings":
        env = os.environ if environ is None else environ
        for name, column in REPLACED_BY_SEED.items():
            if env.get(name):
                raise ConfigError(
                    f"{name} is no longer read: each entity's {column} comes from seeds/entities.csv; set it there and unset {name}"
                )
        references = load_references(Path(env["NETSUITE_REFERENCES_FILE"])) if env.get("NETSUITE_REFERENCES_FILE") else None
        carry = env.get("CLOSE_EXPORT_SPLIT_ACCOUNT", "1010")
        s3_uri = env.get("CLOSE_EXPORT_S3_URI", "")
        try:
            destination = Destination(s3_uri=s3_uri) if s3_uri else Destination(directory=Path(env.get("CLOSE_EXPORT_DIR", "exports")).resolve())
            netsuite = NetSuiteOptions(
                date_format=env.get("NETSUITE_DATE_FORMAT", "%m/%d/%Y"),
                account_reference=env.get("NETSUITE_ACCOUNT_REFERENCE", "number_name"),
                account_ids=(references or {}).get("account", {}),
                carry_account_code=carry,
            )
        except ValueError as error:
            raise ConfigError(str(error)) from None
        sap = SapOptions(
            date_format=env.get("SAP_DATE_FORMAT", "%d/%m/%Y"), carry_account_code=carry,
            currency_decimals=parse_decimals("SAP_CURRENCY_DECIMALS", env.get("SAP_CURRENCY_DECIMALS", "")),
        )
        return cls(
            destination, netsuite, sap, _netsuite_push(env, references), _sap_push(env),
            CurrencyPolicy.parse("NETSUITE_CURRENCY_POLICY", env.get("NETSUITE_CURRENCY_POLICY", "")),
            CurrencyPolicy.parse("SAP_CURRENCY_POLICY", env.get("SAP_CURRENCY_POLICY", "")),
        )


def _netsuite_push(env: Mapping[str, str], references: dict[str, dict[str, str]] | None) -> NetSuitePush | None:
    if not env.get("NETSUITE_ACCOUNT_ID"):
        return None
    account = NetSuiteAccount(env["NETSUITE_ACCOUNT_ID"], env.get("NETSUITE_REST_URL", ""))
    if env.get("NETSUITE_CLIENT_ID"):
        key_file = env.get("NETSUITE_PRIVATE_KEY_FILE", "")
        if not key_file or not Path(key_file).is_file():
            raise ConfigError("NETSUITE_CLIENT_ID is set: NETSUITE_PRIVATE_KEY_FILE must name the PEM private key of the M2M certificate")
        if not env.get("NETSUITE_CERTIFICATE_ID"):
            raise ConfigError("NETSUITE_CLIENT_ID is set: NETSUITE_CERTIFICATE_ID (the certificate id of the M2M mapping) is missing")
        credentials: TokenCredentials | ClientCredentials = ClientCredentials(env["NETSUITE_CLIENT_ID"], env["NETSUITE_CERTIFICATE_ID"], Path(key_file).read_text())
    else:
        names = ("NETSUITE_CONSUMER_KEY", "NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_ID", "NETSUITE_TOKEN_SECRET")
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ConfigError(f"NETSUITE_ACCOUNT_ID is set but {', '.join(missing)} is/are not (token-based auth), nor NETSUITE_CLIENT_ID (OAuth 2.0)")
        credentials = TokenCredentials(*(env[name] for name in names))
    if references is None:
        raise ConfigError("NETSUITE_ACCOUNT_ID is set: NETSUITE_REFERENCES_FILE must give the internal ids of the currencies and accounts")
    return NetSuitePush(
        account, credentials, references,
        int(env.get("NETSUITE_CONCURRENCY", DEFAULT_CONCURRENCY)),
        env.get("NETSUITE_VERIFY", "").lower() in ("1", "true", "yes"),
    )


def _sap_push(env: Mapping[str, str]) -> SapPush | None:
    if not env.get("SAP_URL"):
        return None
    if not env.get("SAP_USER") or not env.get("SAP_PASSWORD"):
        raise ConfigError("SAP_URL is set: SAP_USER and SAP_PASSWORD (the communication user) are needed too")
    return SapPush(SapEndpoint(env["SAP_URL"].rstrip("/"), env["SAP_USER"], env["SAP_PASSWORD"]), int(env.get("SAP_BATCH_SIZE", 50)))
