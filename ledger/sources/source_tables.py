"""The raw tables of Stripe's source objects: what each balance transaction's `source` was, and the
invoices, credit notes, catalog and Stripe Tax transactions behind it, one shape whichever source
lands them.

Each table is declared once here, column by column: its SQL type, how to read it from the API's
JSON object, and whether it holds personal data. The API ingestion builds rows from objects with
`rows`; the Data Pipeline delivers the same tables by name (`stripe_charges` as `charges`, ...) with
the same columns, and its loader reads them with the same declarations. Nested lists become child
tables keyed by parent id and position (an invoice's lines; a line's discounts and taxes).

Personal data (customer names, e-mails, phones, addresses, free text such as descriptions and
memos) is not stored: those columns stay null unless the allowlist names them as
`table.column` (`CLOSE_PERSONAL_DATA_ALLOWLIST`). Customer ids stay: they are pseudonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa

TIMESTAMP = pa.timestamp("us")
# Stripe lists no Stripe Tax transactions (it only retrieves one by id): a charge names its own in
# this metadata key, as the merchant's checkout records it when it creates the transaction.
TAX_TRANSACTION_KEY = "tax_transaction"
ARROW_TYPES = {"varchar": pa.string(), "bigint": pa.int64(), "integer": pa.int32(), "boolean": pa.bool_(), "timestamp": TIMESTAMP,
               "decimal(9, 4)": pa.decimal128(9, 4)}


def _path(*keys: str | int, expandable: bool = True) -> Callable[[dict[str, Any]], Any]:
    """A nested value, or None where any step is missing; an expanded object (if `expandable`) gives its id."""
    def read(item: dict[str, Any]) -> Any:
        value: Any = item
        for key in keys:
            if value is None:
                return None
            if isinstance(key, int):
                value = value[key] if len(value) > key else None
            else:
                value = value.get(key)
        return value.get("id") if expandable and isinstance(value, dict) and "id" in value else value
    return read


def _json(*keys: str) -> Callable[[dict[str, Any]], Any]:
    """A nested object as JSON text with sorted keys (the same text from every source)."""
    read = _path(*keys, expandable=False)  # metadata may have a key named `id`
    return lambda item: None if read(item) is None else orjson.dumps(read(item), option=orjson.OPT_SORT_KEYS).decode()


def _total(list_key: str) -> Callable[[dict[str, Any]], int]:
    return lambda item: sum(entry["amount"] for entry in item.get(list_key) or [])


def _refunded(item: dict[str, Any]) -> int:
    return sum(refund["amount_refunded"] for refund in item.get("refunds") or [])


def _percentage(item: dict[str, Any]) -> Decimal | None:
    value = item.get("percentage")
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    read: Callable[[dict[str, Any]], Any]
    personal: bool = False
    not_null: bool = False


def col(name: str, sql_type: str = "varchar", read: Callable[[dict[str, Any]], Any] | str | None = None, personal: bool = False,
        not_null: bool = False) -> Column:
    reader = _path(read or name) if read is None or isinstance(read, str) else read
    return Column(name, sql_type, reader, personal, not_null)


@dataclass(frozen=True)
class Table:
    """A raw table: its columns, its key, and (for a child table) how to reach its rows from a parent object."""

    name: str
    resource: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # For a child table: the parent object -> its child items, each given its parent's id and position.
    children: Callable[[dict[str, Any]], Iterable[dict[str, Any]]] | None = None
    # Which rows of the delivered table are this table's, where the Data Pipeline shares one table
    # between kinds (SQL over the delivered columns); all of them when None.
    delivered_rows: str | None = None

    @property
    def delivered_name(self) -> str:
        """The Data Pipeline table of the same rows."""
        return self.name.removeprefix("stripe_")

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.personal)

    def ddl(self) -> str:
        columns = [f"{c.name} {c.sql_type}{' not null' if c.not_null else ''}" for c in self.columns]
        return ",\n".join([*columns, "stripe_account_id varchar", "_source varchar not null", "_loaded_at timestamp not null"])


def _lines(list_key: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    def items(parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**item, "_parent": parent["id"], "_position": position} for position, item in enumerate((parent.get(list_key) or {}).get("data") or [])]
    return items


def _amounts(line_list: str, amount_list: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The `amount_list` entries (discount or tax amounts) of every line of a parent's `line_list`."""
    def items(parent: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**entry, "_parent": line["id"], "_grandparent": parent["id"], "_position": position}
                for line in (parent.get(line_list) or {}).get("data") or []
                for position, entry in enumerate(line.get(amount_list) or [])]
    return items


def _metadata(parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"_parent": parent["id"], "key": key, "value": str(value)} for key, value in sorted((parent.get("metadata") or {}).items())]


def _epoch(name: str, read: str | None = None, not_null: bool = False) -> Column:
    return col(name, "timestamp", read or name, not_null=not_null)


_TAX_COLUMNS = (
    col("position", "integer", "_position", not_null=True), col("amount", "bigint", not_null=True), col("taxable_amount", "bigint"),
    col("tax_rate_id", read=_path("tax_rate_details", "tax_rate")), col("taxability_reason"), col("tax_behavior"),
)

TABLES: tuple[Table, ...] = (
    Table("stripe_charges", "charges", ("id",), (
        col("id", not_null=True), col("amount", "bigint", not_null=True), col("amount_captured", "bigint"), col("amount_refunded", "bigint"),
        col("currency", not_null=True), _epoch("created", not_null=True), col("status"), col("captured", "boolean"), col("paid", "boolean"),
        col("refunded", "boolean"), col("disputed", "boolean"), col("balance_transaction_id", read="balance_transaction"),
        col("payment_intent_id", read="payment_intent"), col("customer_id", read="customer"), col("application_fee_id", read="application_fee"),
        col("application_fee_amount", "bigint"), col("payment_method_type", read=_path("payment_method_details", "type")),
        col("card_brand", read=_path("payment_method_details", "card", "brand")),
        col("card_country", read=_path("payment_method_details", "card", "country")),
        col("card_funding", read=_path("payment_method_details", "card", "funding")),
        col("outcome_type", read=_path("outcome", "type")), col("outcome_network_status", read=_path("outcome", "network_status")),
        col("outcome_reason", read=_path("outcome", "reason")), col("calculated_statement_descriptor"),
        col("metadata", read=_json("metadata")),
        col("description", personal=True), col("receipt_email", personal=True),
        col("billing_details_name", read=_path("billing_details", "name"), personal=True),
        col("billing_details_email", read=_path("billing_details", "email"), personal=True),
        col("billing_details_phone", read=_path("billing_details", "phone"), personal=True),
        col("billing_details_address", read=_json("billing_details", "address"), personal=True),
    )),
    Table("stripe_charge_metadata", "charges", ("charge_id", "key"), (
        col("charge_id", read="_parent", not_null=True), col("key", not_null=True), col("value"),
    ), children=_metadata),
    Table("stripe_refunds", "refunds", ("id",), (
        col("id", not_null=True), col("amount", "bigint", not_null=True), col("currency", not_null=True), _epoch("created", not_null=True),
        col("status"), col("reason"), col("charge_id", read="charge"), col("payment_intent_id", read="payment_intent"),
        col("balance_transaction_id", read="balance_transaction"), col("metadata", read=_json("metadata")),
    )),
    Table("stripe_disputes", "disputes", ("id",), (
        col("id", not_null=True), col("amount", "bigint", not_null=True), col("currency", not_null=True), _epoch("created", not_null=True),
        col("status"), col("reason"), col("charge_id", read="charge"), col("payment_intent_id", read="payment_intent"),
        col("is_charge_refundable", "boolean"),
    )),
    Table("stripe_invoices", "invoices", ("id",), (
        col("id", not_null=True), col("number"), col("customer_id", read="customer"), col("currency", not_null=True),
        _epoch("created", not_null=True), col("status"), col("billing_reason"), col("collection_method"),
        col("subscription_id", read=_path("parent", "subscription_details", "subscription")),
        col("subtotal", "bigint"), col("subtotal_excluding_tax", "bigint"), col("total_discount_amount", "bigint", _total("total_discount_amounts")),
        col("total_tax_amount", "bigint", _total("total_taxes")), col("amount_shipping", "bigint"),
        col("shipping_rate_id", read=_path("shipping_cost", "shipping_rate")), col("shipping_tax_amount", "bigint", _path("shipping_cost", "amount_tax")),
        col("total_excluding_tax", "bigint"), col("total", "bigint", not_null=True), col("amount_due", "bigint"), col("amount_paid", "bigint"),
        _epoch("period_start"), _epoch("period_end"), _epoch("paid_at", _path("status_transitions", "paid_at")),
        col("customer_tax_exempt"), col("metadata", read=_json("metadata")),
        col("description", personal=True), col("customer_name", personal=True), col("customer_email", personal=True),
        col("customer_phone", personal=True), col("customer_address", read=_json("customer_address"), personal=True),
    )),
    Table("stripe_invoice_line_items", "invoices", ("id",), (
        col("id", not_null=True), col("invoice_id", read="_parent", not_null=True), col("position", "integer", "_position", not_null=True),
        col("currency", not_null=True), col("amount", "bigint", not_null=True), col("quantity", "bigint"),
        col("price_id", read=_path("pricing", "price_details", "price")), col("product_id", read=_path("pricing", "price_details", "product")),
        col("unit_amount_decimal", read=_path("pricing", "unit_amount_decimal")),
        _epoch("period_start", _path("period", "start")), _epoch("period_end", _path("period", "end")),
        col("discount_amount", "bigint", _total("discount_amounts")), col("tax_amount", "bigint", _total("taxes")),
        col("parent_type", read=_path("parent", "type")), col("subscription_id", read="subscription"), col("metadata", read=_json("metadata")),
        col("description", personal=True),
    ), children=_lines("lines")),
    Table("stripe_invoice_line_item_discounts", "invoices", ("line_item_id", "position"), (
        col("line_item_id", read="_parent", not_null=True), col("invoice_id", read="_grandparent", not_null=True),
        col("position", "integer", "_position", not_null=True), col("amount", "bigint", not_null=True), col("discount_id", read="discount"),
    ), children=_amounts("lines", "discount_amounts")),
    Table("stripe_invoice_line_item_taxes", "invoices", ("line_item_id", "position"), (
        col("line_item_id", read="_parent", not_null=True), col("invoice_id", read="_grandparent", not_null=True), *_TAX_COLUMNS,
    ), children=_amounts("lines", "taxes")),
    Table("stripe_invoice_payments", "invoice_payments", ("id",), (
        col("id", not_null=True), col("invoice_id", read="invoice", not_null=True), col("payment_type", read=_path("payment", "type")),
        col("payment_intent_id", read=_path("payment", "payment_intent")), col("charge_id", read=_path("payment", "charge")),
        col("amount_paid", "bigint"), col("amount_requested", "bigint"), col("currency", not_null=True), col("status"),
        _epoch("created", not_null=True), _epoch("paid_at", _path("status_transitions", "paid_at")),
    )),
    Table("stripe_credit_notes", "credit_notes", ("id",), (
        col("id", not_null=True), col("number"), col("invoice_id", read="invoice"), col("customer_id", read="customer"),
        col("currency", not_null=True), _epoch("created", not_null=True), _epoch("effective_at"), col("status"), col("type"), col("reason"),
        col("subtotal", "bigint"), col("discount_amount", "bigint"), col("total_tax_amount", "bigint", _total("total_taxes")),
        col("amount_shipping", "bigint"), col("total", "bigint", not_null=True), col("out_of_band_amount", "bigint"),
        col("refund_id", read=_path("refunds", 0, "refund")), col("refund_amount", "bigint", _refunded),
        col("memo", personal=True),
    )),
    Table("stripe_credit_note_line_items", "credit_notes", ("id",), (
        col("id", not_null=True), col("credit_note_id", read="_parent", not_null=True), col("position", "integer", "_position", not_null=True),
        col("type"), col("invoice_line_item_id", read="invoice_line_item"), col("amount", "bigint", not_null=True), col("quantity", "bigint"),
        col("unit_amount", "bigint"), col("discount_amount", "bigint"), col("tax_amount", "bigint", _total("taxes")),
        col("description", personal=True),
    ), children=_lines("lines")),
    Table("stripe_credit_note_line_item_taxes", "credit_notes", ("line_item_id", "position"), (
        col("line_item_id", read="_parent", not_null=True), col("credit_note_id", read="_grandparent", not_null=True), *_TAX_COLUMNS,
    ), children=_amounts("lines", "taxes")),
    Table("stripe_products", "products", ("id",), (
        col("id", not_null=True), col("name"), col("type"), col("active", "boolean"), col("shippable", "boolean"), col("tax_code"),
        col("unit_label"), _epoch("created"), _epoch("updated"), col("metadata", read=_json("metadata")), col("description", personal=True),
    )),
    Table("stripe_prices", "prices", ("id",), (
        col("id", not_null=True), col("product_id", read="product"), col("currency", not_null=True), col("unit_amount", "bigint"),
        col("type"), col("billing_scheme"), col("recurring_interval", read=_path("recurring", "interval")),
        col("recurring_interval_count", "bigint", _path("recurring", "interval_count")), col("tax_behavior"), col("active", "boolean"),
        col("lookup_key"), col("nickname"), _epoch("created"), col("metadata", read=_json("metadata")),
    )),
    Table("stripe_tax_rates", "tax_rates", ("id",), (
        col("id", not_null=True), col("display_name"), col("percentage", "decimal(9, 4)", _percentage), col("inclusive", "boolean"),
        col("country"), col("state"), col("jurisdiction"), col("jurisdiction_level"), col("tax_type"), col("active", "boolean"),
        _epoch("created"), col("metadata", read=_json("metadata")), col("description", personal=True),
    )),
    # Stripe Tax: the tax it computed for a sale without an invoice. The customer's street stays out;
    # the country and state of the address it taxed by are the jurisdiction.
    Table("stripe_tax_transactions", "tax_transactions", ("id",), (
        col("id", not_null=True), col("type"), col("reference"), col("currency", not_null=True), col("customer_id", read="customer"),
        col("customer_country", read=_path("customer_details", "address", "country")),
        col("customer_state", read=_path("customer_details", "address", "state")),
        col("address_source", read=_path("customer_details", "address_source")),
        col("taxability_override", read=_path("customer_details", "taxability_override")),
        _epoch("created", not_null=True), _epoch("posted_at"), _epoch("tax_date"),
        col("reversed_transaction_id", read=_path("reversal", "original_transaction")),
        col("shipping_amount", "bigint", _path("shipping_cost", "amount")), col("shipping_tax_amount", "bigint", _path("shipping_cost", "amount_tax")),
        col("metadata", read=_json("metadata")),
    )),
    Table("stripe_tax_transaction_line_items", "tax_transactions", ("id",), (
        col("id", not_null=True), col("tax_transaction_id", read="_parent", not_null=True), col("position", "integer", "_position", not_null=True),
        col("type"), col("reference"), col("product_id", read="product"), col("quantity", "bigint"), col("amount", "bigint", not_null=True),
        col("amount_tax", "bigint", not_null=True), col("tax_behavior"), col("tax_code"),
        col("reversed_line_item_id", read=_path("reversal", "original_line_item")), col("metadata", read=_json("metadata")),
    ), children=_lines("line_items")),
    # Connect transfers. The Data Pipeline keeps them in `transfers` beside the payouts (type
    # `stripe_account`), with these column names; its metadata is a table of its own, not read.
    Table("stripe_transfers", "transfers", ("id",), (
        col("id", not_null=True), col("amount", "bigint", not_null=True), col("amount_reversed", "bigint"), col("currency", not_null=True),
        _epoch("created", not_null=True), col("balance_transaction_id", read="balance_transaction"),
        col("destination_id", read="destination"), col("destination_payment_id", read="destination_payment"),
        col("source_transaction_id", read="source_transaction"), col("source_type"), col("transfer_group"), col("reversed", "boolean"),
        col("description", personal=True),
    ), delivered_rows="type = 'stripe_account'"),
)
BY_NAME = {table.name: table for table in TABLES}
# Resource (API list endpoint) -> the tables its objects fill.
RESOURCES: dict[str, tuple[Table, ...]] = {}
for _table in TABLES:
    RESOURCES.setdefault(_table.resource, ())
    RESOURCES[_table.resource] += (_table,)
SOURCE_RAW_TABLES = {table.name: table.ddl() for table in TABLES}
SOURCE_RAW_KEYS = {table.name: table.key for table in TABLES}
# Every `table.column` that holds personal data: what the allowlist may name.
PERSONAL_COLUMNS = tuple(f"{table.name}.{column}" for table in TABLES for column in table.personal_columns)


def _arrow(column: Column, values: list[Any]) -> pa.Array:
    if column.sql_type == "timestamp":
        return pa.array([None if v is None else v * 1_000_000 for v in values], pa.int64()).cast(TIMESTAMP)
    return pa.array(values, ARROW_TYPES[column.sql_type])


def rows(resource: str, objects: list[dict[str, Any]], source: str, loaded_at: datetime, allowed: frozenset[str] = frozenset()) -> dict[str, pa.Table]:
    """The raw rows of `objects` (one API resource) for each table they fill; personal columns null unless `allowed`."""
    tables = {}
    for table in RESOURCES[resource]:
        items = [child for parent in objects for child in table.children(parent)] if table.children else objects
        columns = {}
        for column in table.columns:
            kept = not column.personal or f"{table.name}.{column.name}" in allowed
            columns[column.name] = _arrow(column, [column.read(item) for item in items] if kept else [None] * len(items))
        columns["_source"] = pa.array([source] * len(items), pa.string())
        columns["_loaded_at"] = pa.array([loaded_at] * len(items), TIMESTAMP)
        tables[table.name] = pa.table(columns)
    return tables


def parse_allowlist(text: str) -> frozenset[str]:
    """`table.column` names, comma-separated; each must be a personal column (`PERSONAL_COLUMNS`)."""
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(names - set(PERSONAL_COLUMNS))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not a personal-data column; choose from {', '.join(PERSONAL_COLUMNS)}")
    return names
