"""The package's "Revenue by product" and "Tax payable by jurisdiction": the sales split's marts for the entity's period.

Read from `rpt_revenue_by_product` and `rpt_tax_payable_by_jurisdiction` (docs/ledger.md, the sales
split), in minor units, positive for revenue and for a liability. An empty table always says why,
never reads as zero: the entity booked no charges in the period; or Stripe's source objects were
not loaded for its charges, so nothing was split (not evaluated: their revenue is booked whole by
the mapping rules); or none of its charges paid an invoice and charges without one have no category
account (a merchant without invoices has no product revenue); or no tax was charged. When only some
of the period's charges have their source objects, the section says how many are missing from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from exporters import xlsx
from ledger.marts import MartsReader
from ledger.money import to_major

if TYPE_CHECKING:
    from exporters.close_package.close_data import CloseData

REVENUE_SHEET = "Revenue by product"
TAX_SHEET = "Tax by jurisdiction"
REVENUE_HEADER = ("Currency", "Product or category", "Account", "Sales", "Discounts", "Credit notes", "Refunds", "Net revenue")
TAX_HEADER = ("Currency", "Jurisdiction", "Account", "Collected", "Credit notes", "Refunds", "Tax payable")


@dataclass(frozen=True)
class ProductRevenue:
    """A product's (or, for charges without an invoice, a metadata category's) revenue in a currency."""

    currency: str
    product_id: str | None
    product_name: str | None
    revenue_category: str | None
    account_code: str | None
    sales_minor: int
    discounts_minor: int
    credited_minor: int
    refunded_minor: int
    net_revenue_minor: int
    is_unknown_product: bool

    @property
    def label(self) -> str:
        if self.product_id is None:
            return f"category {self.revenue_category}" if self.revenue_category else "charges without an invoice"
        if self.is_unknown_product:
            return f"{self.product_id} (not among Stripe's products: booked to suspense)"
        return f"{self.product_name} ({self.product_id})" if self.product_name else self.product_id


@dataclass(frozen=True)
class JurisdictionTax:
    """The tax payable to a jurisdiction (none: tax on shipping) on one tax account, in a currency."""

    currency: str
    jurisdiction: str | None
    account_code: str
    collected_minor: int
    credited_minor: int
    refunded_minor: int
    payable_minor: int

    @property
    def label(self) -> str:
        return self.jurisdiction or "none (tax on shipping)"


@dataclass(frozen=True)
class RevenueDetail:
    products: tuple[ProductRevenue, ...]
    taxes: tuple[JurisdictionTax, ...]
    # Why a table is empty ("" when it is not), and which charges of the period it leaves out ("" for none).
    products_empty: str
    taxes_empty: str
    incomplete: str = ""
    # Nothing could be split (no source objects, or a copy frozen without this section): not a clean "none".
    not_evaluated: bool = False


# A package frozen at its lock by a version before this section: it has no revenue detail to show, and says so.
NOT_FROZEN = RevenueDetail((), (), *(("Not shown: this package was frozen at its lock by a version without the sales split's marts",) * 2),
                           not_evaluated=True)


def revenue_detail(connection: MartsReader, entity_id: str, period: str) -> RevenueDetail:
    parameters = (entity_id, period)
    products = tuple(ProductRevenue(*row) for row in connection.execute(
        """
        select
            currency, product_id, product_name, revenue_category, revenue_account_code,
            sales_minor, discounts_minor, credited_minor, refunded_minor, net_revenue_minor, is_unknown_product
        from main.rpt_revenue_by_product
        where entity_id = ? and period = ?
        order by currency, product_id nulls last, revenue_category
        """, parameters).fetchall())
    taxes = tuple(JurisdictionTax(*row) for row in connection.execute(
        """
        select currency, jurisdiction, account_code, tax_collected_minor, tax_credited_minor, tax_refunded_minor, tax_payable_minor
        from main.rpt_tax_payable_by_jurisdiction
        where entity_id = ? and period = ?
        order by currency, jurisdiction nulls last, account_code
        """, parameters).fetchall())
    charges, known, invoiced = connection.execute(
        """
        with booked as (
            -- A charge books its gross on one line, or on its sale's parts: once each.
            select distinct source_id
            from main.fct_journal_line_sources
            where source_kind = 'balance_transaction' and (line_role = 'gross' or starts_with(line_role, 'sale:'))
                and not is_adjustment and entity_id = ? and period = ?
        )
        select count(*), count(documents.charge_id), count(documents.invoice_id)
        from booked
        inner join main.stg_stripe__balance_transactions as transactions on booked.source_id = transactions.balance_transaction_id
        left join main.int_charge_sales_documents as documents on transactions.source_id = documents.charge_id
        where transactions.reporting_category = 'charge'
        """, parameters).fetchone()
    not_loaded = (f"Not evaluated: Stripe's source objects (charges, invoices, products) were not loaded for the {charges} charge(s) "
                  f"of {period}, so their revenue is booked whole to the mapping rules' accounts (see the trial balance), not by product "
                  "or jurisdiction; ingest them with their source objects (docs/ingestion.md)")
    if products:
        products_empty = ""
    elif charges == 0:
        products_empty = f"None: {entity_id} booked no charges in {period}."
    elif known == 0:
        products_empty = not_loaded
    elif invoiced == 0:
        products_empty = (f"None by product: none of the {charges} charge(s) of {period} paid an invoice (a merchant without invoices has "
                          "no product revenue), and charges without an invoice have no revenue category account (gl_sales_policy.csv "
                          "uninvoiced_account_code, gl_revenue_accounts.csv match_on metadata): their revenue is booked by the mapping "
                          "rules (see the trial balance).")
    else:
        products_empty = f"None: the sales of {period} left no revenue."
    if taxes:
        taxes_empty = ""
    elif charges and known == 0:
        taxes_empty = not_loaded
    else:
        taxes_empty = (f"None: no tax was charged on {entity_id}'s sales in {period} (no invoice line with a tax rate, "
                       "no Stripe Tax transaction named by a charge).")
    incomplete = "" if known in (0, charges) else (
        f"Incomplete: {charges - known} of the {charges} charges of {period} have no source objects loaded; their revenue is booked "
        "whole to the mapping rules' accounts and is not in these tables.")
    return RevenueDetail(products, taxes, products_empty, taxes_empty, incomplete, not_evaluated=bool(charges) and known == 0)


def add_revenue_detail_sheets(workbook, data: CloseData) -> None:
    detail = data.revenue_detail
    xlsx.add_table(workbook, REVENUE_SHEET, REVENUE_HEADER, _with_notes(detail, detail.products_empty, len(REVENUE_HEADER), [
        (item.currency.upper(), item.label, item.account_code,
         *(to_major(amount, item.currency) for amount in (item.sales_minor, item.discounts_minor, item.credited_minor, item.refunded_minor,
                                                          item.net_revenue_minor)))
        for item in detail.products
    ]))
    xlsx.add_table(workbook, TAX_SHEET, TAX_HEADER, _with_notes(detail, detail.taxes_empty, len(TAX_HEADER), [
        (item.currency.upper(), item.label, item.account_code,
         *(to_major(amount, item.currency) for amount in (item.collected_minor, item.credited_minor, item.refunded_minor, item.payable_minor)))
        for item in detail.taxes
    ]))


def _with_notes(detail: RevenueDetail, empty: str, width: int, rows: list[tuple]) -> list[tuple]:
    """The rows, or the sentence saying why there are none; then what the table leaves out, if anything."""
    notes = [text for text in ("" if rows else empty, detail.incomplete) if text]
    return rows + [(text, *(None,) * (width - 1)) for text in notes]
