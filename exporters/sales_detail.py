"""The sales split's detail on ERP lines: which product and which tax jurisdiction each line carries.

The journal has one line per entry and account (dbt `fct_journal_lines`), so two products booked to
4000 Revenue share a line and NetSuite or SAP could not say what each sold. For the ERP files and
pushes, a line whose drill-down holds `sale:` parts (docs/ledger.md, the sales split) is itemized:
one line per product (revenue and its discounts; a charge without an invoice by its metadata
category) or per ISO jurisdiction (tax), each named in the line's text (NetSuite's line memo, SAP's
item text) as `product prod_...`, `category ...` or `jurisdiction US-CA`, and what the line holds
besides (a gross the split did not reach, shipping) on one line without detail. So the ERP ties to
`rpt_revenue_by_product` and `rpt_tax_payable_by_jurisdiction`: per entity, period, currency and
product (or jurisdiction and tax account), the lines sum to the marts to the minor unit.

Itemizing moves nothing between accounts: the parts of a line add up to it, in the transaction
currency exactly and in the functional currency through the same pro rata rule the split uses
(truncated toward zero, the remainder on the first part), so every entry still balances and the
files still prove their totals against the ledger per account. The ledger's own lines (and the
fingerprint the manifests and the close package show) are not changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from exporters.journal import JournalLine
from ledger.marts import MartsReader

# Line text (NetSuite line memo, SAP item text) of an itemized line: its detail first, so SAP's 50
# characters keep it whole, then the account's name.
DETAIL_SEPARATOR = " | "

# Per journal line, the detail of each of its `sale:` parts: the product (or metadata category) of a
# revenue or discount part, the jurisdiction of a tax part; shipping and tax without a jurisdiction
# (shipping's) carry none. The split model names each part's product and jurisdiction.
_LINE_DETAILS = """
    with details as (
        select distinct
            line_role,
            case
                when component_kind = 'tax' then 'jurisdiction ' || jurisdiction
                when component_kind in ('revenue', 'discount') and product_id is not null then 'product ' || product_id
                when component_kind in ('revenue', 'discount') then 'category ' || revenue_category
            end as detail
        from main.int_balance_transaction_sales_split
        where entity_id = ?
    )
    select sources.journal_entry_id, sources.account_code, details.detail, cast(sum(sources.amount_minor) as bigint)
    from main.fct_journal_line_sources as sources
    inner join details on sources.line_role = details.line_role
    where sources.entity_id = ? and sources.period = ? and details.detail is not null
    group by all
    order by 1, 2, 3
"""


# A journal line is its entry's line on an account (fct_journal_lines: one per entry and account).
LineKey = tuple[str, str]


def load_line_details(connection: MartsReader, entity_id: str, period: str) -> dict[LineKey, list[tuple[str, int]]]:
    """(journal entry, account) -> [(detail, amount_minor), ...] of the entity's period, for the lines holding sales parts."""
    details: dict[LineKey, list[tuple[str, int]]] = defaultdict(list)
    for entry_id, account_code, detail, amount_minor in connection.execute(_LINE_DETAILS, (entity_id, entity_id, period)).fetchall():
        details[entry_id, account_code].append((detail, amount_minor))
    return dict(details)


def itemize(lines: list[JournalLine], details: dict[LineKey, list[tuple[str, int]]]) -> list[JournalLine]:
    """`lines` with each line holding sales parts replaced by one line per detail, and one without
    detail for what else it holds. Revaluation and FX rounding lines have no sales parts. A line
    whose parts are not all on its own side (debit or credit) stays whole, without detail."""
    itemized: list[JournalLine] = []
    for line in lines:
        parts = [] if line.is_revaluation else [(detail, amount) for detail, amount in details.get((line.journal_entry_id, line.account_code), []) if amount]
        if not parts or not line.amount_minor:
            itemized.append(line)
            continue
        rest = line.amount_minor - sum(amount for _, amount in parts)
        parts += [("", rest)] if rest else []
        if any((amount > 0) != (line.amount_minor > 0) for _, amount in parts):
            # A day's refunds of one product exceeding its sales: a part on the other side would
            # add to both the file's debits and credits, which then no longer tie to the trial balance.
            itemized.append(line)
            continue
        shares = [_truncated_share(line.functional_amount_minor, amount, line.amount_minor) for _, amount in parts]
        shares[0] += line.functional_amount_minor - sum(shares)
        itemized += [
            replace(line, detail=detail, amount_minor=amount, functional_amount_minor=share)
            for (detail, amount), share in zip(parts, shares)
        ]
    return itemized


def line_text(line: JournalLine) -> str:
    return f"{line.detail}{DETAIL_SEPARATOR}{line.account_name}" if line.detail else line.account_name


def detail_of(text: str) -> str:
    """The detail a line text written by `line_text` carries ("" for none)."""
    detail, separator, _ = text.partition(DETAIL_SEPARATOR)
    return detail if separator else ""


def _truncated_share(total: int, part: int, whole: int) -> int:
    """total x part / whole, truncated toward zero in integers (as the split's pro rata shares)."""
    magnitude = abs(total) * abs(part) // abs(whole)
    return magnitude if (total >= 0) == ((part >= 0) == (whole >= 0)) else -magnitude
