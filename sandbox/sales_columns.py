"""The source objects' raw tables of a big simulated world, built column-wise (numpy and polars).

`sandbox.sales` builds every charge, invoice and credit note as a Python object, as the sandbox
API serves them: about a millisecond and 12 KB per balance transaction, too slow and too big for a
benchmark of a million. This module lands the same raw tables (`ledger.sources.source_tables`:
same columns, same types) with the same kinds of rows, drawn array by array: charges with a
customer, card and metadata; for most, an invoice whose lines (catalog items at fixed prices, then
the rest at a custom price), 10 % coupon, shipping and tax at one rate of the customer's
jurisdiction total exactly the gross; Stripe Tax transactions for some charges without invoice;
refunds with, for about half of those of invoiced charges, a credit note splitting the refund in
the invoice's proportions, and for those of Stripe Tax charges a reversal transaction (named in the
refund's metadata; none for every MISSING_REVERSAL_EVERY-th sequence); the dispute, the partial capture and Connect transfers. The catalog
(products, prices, tax rates) and the few transfers come from `sandbox.sales` itself, object by
object, so their ids and values are the sandbox's own.

What differs from the object path, by design: ids are derived from the charge's id (no hash per
object), a charge is refunded at most once (a refund takes the largest charge of a block of
earlier charges of its currency; when that one is too small, a charge from before the world, twice
the refund and without invoice, as `sandbox.sales` does when nothing fits), and the random draws
differ; a refund that takes back a Stripe Tax sale (`sandbox.sales.TAX_REFUND_EVERY`) always takes one from
before the world (the object path prefers the world's own for a partial one). A big world is drawn a chunk of whole days at a time (`source_object_chunks`), so memory
follows the chunk, not the world. Personal columns stay null, as ingestion leaves them by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np
import polars as pl
import pyarrow as pa

from ledger.sources import source_tables
from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from sandbox import catalog
from sandbox.merchant import DAY, PARTIAL_CAPTURE, World
from sandbox.sales import (
    CREDIT_NOTE_EVERY, CUSTOMERS, DISCOUNT_PERCENT, DISCOUNT_SHARE, FULL_TAX_REFUND, INVOICED_SHARE, MISSING_REVERSAL_EVERY,
    PARTIAL_TAX_REFUND, SHIPPING_SHARE, STRIPE_TAX_EVERY, TAX_REFUND_EVERY, _Builder,
)

# Earlier charges of its currency a refund chooses from (the largest): wide enough that nearly
# every refund (at most half a charge's maximum) finds one, and each charge serves one refund.
REFUND_BLOCK = 5
PRODUCT_KEYS = tuple(catalog.PRODUCTS)
RATE_KEYS = tuple(catalog.TAX_RATES)
# Percentages in thousandths (8.875 % -> 8875): integer arithmetic for Decimal's ROUND_HALF_UP.
RATE_MILLI = np.array([int(catalog.TAX_RATES[key].percentage * 1000) for key in RATE_KEYS], np.int64)
STANDARD_RATES = {code: [key for key in rates if catalog.TAX_RATES[key].taxability_reason == "standard_rated"]
                  for code, rates in catalog.RATES_BY_CURRENCY.items()}
# Balance transactions drawn at a time (whole days, at least CHUNK_DAYS): bounds the memory of a
# ten-million world. A refund finds its charge within its own chunk, as the partial capture and the
# dispute (days 1 and 2) do in the first.
CHUNK_TRANSACTIONS = 1_000_000
CHUNK_DAYS = 3


def source_object_chunks(world: World, source: str, loaded_at: datetime) -> Iterator[dict[str, pa.Table]]:
    """The source-object raw tables of the world's objects created by `as_of`, by table name, a
    chunk of days at a time (the catalog with the first); ids never repeat between chunks."""
    generator = _Generator(world)
    events = generator.events
    per_day = max(1, events.height // max(1, world.spec.days))
    days = max(CHUNK_DAYS, -(-CHUNK_TRANSACTIONS // per_day))
    window = ((pl.col("created") - world.spec.start_ts) // (days * DAY)).clip(lower_bound=0).alias("window")
    for first, (_, chunk) in enumerate(events.with_columns(window).partition_by("window", as_dict=True, maintain_order=True).items()):
        yield generator.tables(chunk.drop("window"), source, loaded_at, with_catalog=first == 0)


def source_object_tables(world: World, source: str, loaded_at: datetime) -> dict[str, pa.Table]:
    """Every source-object raw table of the world's objects created by `as_of`, whole, by table name."""
    parts: dict[str, list[pa.Table]] = {}
    for chunk in source_object_chunks(world, source, loaded_at):
        for name, table in chunk.items():
            parts.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def _round_half_up(numerator: np.ndarray, denominator: np.ndarray | int) -> np.ndarray:
    """numerator / denominator rounded half up, for non-negative integers (as Decimal's ROUND_HALF_UP)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _allocate(group: np.ndarray, totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row, its share of its group's total in proportion to `weights`, largest remainder (ties to
    the first row), as `sales._allocate`: each group's shares sum to its total exactly. `group` is
    sorted, 0..n-1; `totals` is per group; a group of zero weights gives its total to its first row."""
    count = len(totals)
    whole = np.bincount(group, weights, minlength=count).astype(np.int64)
    first = np.searchsorted(group, np.arange(count))
    row_total, row_whole = totals[group], whole[group]
    safe = np.where(row_whole == 0, 1, row_whole)
    shares = np.where(row_whole == 0, 0, row_total * weights // safe)
    remainders = np.where(row_whole == 0, 0, row_total * weights % safe)
    index = np.arange(len(group))
    order = np.lexsort((index, -remainders, group))
    rank = np.empty_like(index)
    rank[order] = index - first[group[order]]
    missing = (totals - np.bincount(group, shares, minlength=count).astype(np.int64))[group]
    shares = shares + (rank < missing)
    return np.where((row_whole == 0) & (index == first[group]), row_total, shares)


def _body(ids: pl.Series) -> pl.Series:
    """What follows an id's prefix (`ch_`), from which the ids of a charge's objects are made."""
    return ids.str.split_exact("_", 1).struct.field("field_1")


class _Generator:
    """The world's sale events in order (numbered as `sandbox.sales` numbers them), one random stream,
    the sandbox's catalog; `tables` draws the objects of one chunk of them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = np.random.default_rng([world.spec.seed, 17, 1])
        self.catalog = _Builder(world)
        self.catalog.build_catalog()
        events = pl.from_arrow(world.balance_transactions.select(["id", "created", "currency", "amount", "source", "description", "event"]))
        self.events = (events.filter(pl.col("event").is_in(["charge", "refund", "partial_capture_reversal", "dispute", "transfer"])
                                     & (pl.col("created") <= world.as_of))
                       .sort(["created", "id"]).with_row_index("sequence", offset=1))
        self.frames: dict[str, pl.DataFrame] = {}

    def tables(self, events: pl.DataFrame, source: str, loaded_at: datetime, with_catalog: bool) -> dict[str, pa.Table]:
        """The raw tables of the objects of `events` (a chunk of whole days, in order)."""
        self.events, self.frames = events, {}
        charges = self._charges(self.events.filter(pl.col("event") == "charge"))
        charges, refunds = self._refunds(charges)
        charges = self._dispute(charges)
        lines = self._invoices(charges.filter(pl.col("invoiced")))
        self._credit_notes(refunds, lines)
        self._tax_transactions(charges)
        self._charge_rows(charges)
        self.frames["stripe_refunds"] = self._tax_reversals(refunds, charges).drop("sequence")
        detail = self.catalog.detail
        objects = {"products": detail.products, "prices": detail.prices, "tax_rates": detail.tax_rates} if with_catalog else {}
        detail.transfers = []
        for row in self.events.filter(pl.col("event") == "transfer").to_dicts():
            self.catalog.transfer(row)
        objects["transfers"] = detail.transfers
        tables = {}
        for table in source_tables.TABLES:
            if table.name in self.frames:
                tables[table.name] = _landed(table, self.frames.pop(table.name), source, loaded_at)
        for resource, items in objects.items():
            tables.update(source_tables.rows(resource, items, source, loaded_at))
        return tables

    # -- charges ---------------------------------------------------------------------------

    def _charges(self, rows: pl.DataFrame) -> pl.DataFrame:
        rng, count = self.rng, rows.height
        currency = rows["currency"].to_numpy()
        partial = rows["description"].str.ends_with("(partial capture)").fill_null(False).to_numpy()
        country = np.empty(count, object)
        for code, countries in catalog.CARD_COUNTRIES.items():
            here = currency == code
            country[here] = np.array(countries, object)[rng.integers(len(countries), size=int(here.sum()))]
        invoiced = ~partial & (rng.random(count) < INVOICED_SHARE)
        return rows.select(
            pl.col("source").alias("charge_id"), pl.col("id").alias("balance_transaction_id"), "sequence", "currency", "created",
            pl.col("amount"),
            pl.when(pl.Series(partial)).then(PARTIAL_CAPTURE[1]).otherwise(pl.col("amount")).alias("amount_captured"),
        ).with_columns(
            pl.Series("partial", partial), pl.Series("invoiced", invoiced),
            pl.Series("customer", rng.integers(CUSTOMERS, size=count)),
            pl.Series("card_brand", np.array(catalog.CARD_BRANDS, object)[rng.integers(len(catalog.CARD_BRANDS), size=count)], pl.String),
            pl.Series("card_country", country, pl.String),
            pl.Series("card_funding", np.array(catalog.CARD_FUNDING, object)[rng.integers(len(catalog.CARD_FUNDING), size=count)], pl.String),
            pl.Series("category", np.array(catalog.UNINVOICED_CATEGORIES, object)[
                rng.integers(len(catalog.UNINVOICED_CATEGORIES), size=count)], pl.String),
            pl.lit(False).alias("disputed"), pl.lit(False).alias("stripe_tax"),
        )

    def _refunds(self, charges: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Each refund with its charge; the charges with what was refunded (and those from before the world)."""
        events = self.events
        reversal = events.filter(pl.col("event") == "partial_capture_reversal").join(
            charges.filter(pl.col("partial")).select("currency", "charge_id"), on="currency", how="left")
        reversal = reversal.with_columns(pl.lit("expired_uncaptured_charge").alias("reason"))
        refunds = events.filter(pl.col("event") == "refund").with_columns((-pl.col("amount")).alias("refund_amount"))
        chosen = []
        start = self.world.spec.start_ts
        in_world = charges.filter((pl.col("created") >= start) & ~pl.col("partial"))
        for (code,), theirs in refunds.partition_by("currency", as_dict=True, maintain_order=True).items():
            candidates = in_world.filter(pl.col("currency") == code)
            block = pl.Series(np.arange(candidates.height) // REFUND_BLOCK)
            largest = (candidates.with_columns(block.alias("block")).sort(["block", "amount_captured", "created"], descending=[False, True, False])
                       .unique("block", keep="first", maintain_order=True))
            rank = np.arange(theirs.height)
            picked = largest.select("charge_id", pl.col("amount_captured").alias("fits"), pl.col("created").alias("charged")).with_row_index("rank")
            chosen.append(theirs.with_columns(pl.Series("rank", rank, pl.UInt32)).join(picked, on="rank", how="left"))
        refunds = pl.concat(chosen).sort("sequence") if chosen else refunds.with_columns(
            pl.lit(None, pl.String).alias("charge_id"), pl.lit(None, pl.Int64).alias("fits"), pl.lit(None, pl.Int64).alias("charged"))
        # A refund that takes back a Stripe Tax sale takes one from before the world: the refund itself
        # (in full) or twice it (in part).
        turn = pl.col("sequence") % TAX_REFUND_EVERY
        stripe_tax = pl.col("currency").is_in([code for code, rates in STANDARD_RATES.items() if rates]) & turn.is_in(
            [FULL_TAX_REFUND, PARTIAL_TAX_REFUND])
        fits = (pl.col("fits") >= pl.col("refund_amount")) & (pl.col("charged") < pl.col("created")) & ~stripe_tax
        body = _body(refunds["source"])
        refunds = refunds.with_columns(
            pl.when(fits).then(pl.col("charge_id")).otherwise(pl.lit("ch_before") + body).alias("charge_id"),
            pl.lit("requested_by_customer").alias("reason"), (~fits.fill_null(False)).alias("before_world"), stripe_tax.alias("stripe_tax"))
        multiple = pl.when(turn == FULL_TAX_REFUND).then(1).otherwise(2)
        before = refunds.filter(pl.col("before_world")).select(
            "charge_id", (pl.lit("txn_before") + body.filter(refunds["before_world"])).alias("balance_transaction_id"), "sequence", "currency",
            pl.lit(start - 10 * DAY).alias("created"), (multiple * pl.col("refund_amount")).alias("amount"),
            (multiple * pl.col("refund_amount")).alias("amount_captured"), "stripe_tax")
        before = before.with_columns(
            pl.lit(False).alias("partial"), pl.lit(False).alias("invoiced"),
            *[pl.lit(value).alias(name) for name, value in charges.select("customer", "card_brand", "card_country", "card_funding").row(0, named=True).items()],
            pl.lit(catalog.UNINVOICED_CATEGORIES[0]).alias("category"), pl.lit(False).alias("disputed"))
        charges = pl.concat([charges, before.select(charges.columns).cast(charges.schema)])
        refunds = pl.concat([
            refunds.select("source", "id", "sequence", "currency", "created", "refund_amount", "charge_id", "reason"),
            reversal.select("source", "id", "sequence", "currency", "created", (-pl.col("amount")).alias("refund_amount"), "charge_id", "reason"),
        ]).sort("sequence")
        refunded = refunds.group_by("charge_id").agg(pl.col("refund_amount").sum().alias("amount_refunded"))
        charges = charges.join(refunded, on="charge_id", how="left").with_columns(pl.col("amount_refunded").fill_null(0))
        payment_intents = charges.select("charge_id", pl.lit("pi_") + _body(charges["charge_id"]))
        refunds = refunds.join(payment_intents.rename({"literal": "payment_intent_id"}), on="charge_id", how="left")
        return charges, refunds.select(
            pl.col("source").alias("id"), pl.col("refund_amount").alias("amount"), "currency", "created", pl.lit("succeeded").alias("status"),
            "reason", "charge_id", "payment_intent_id", pl.col("id").alias("balance_transaction_id"), pl.lit("{}").alias("metadata"),
            "sequence")

    def _dispute(self, charges: pl.DataFrame) -> pl.DataFrame:
        """The dispute, on the latest earlier charge of its currency with enough left (and not refunded)."""
        rows = []
        for dispute in self.events.filter(pl.col("event") == "dispute").to_dicts():
            amount = -dispute["amount"]
            [charge] = charges.filter((pl.col("currency") == dispute["currency"]) & (pl.col("created") < dispute["created"])
                                      & (pl.col("amount_captured") - pl.col("amount_refunded") >= amount)).sort("created").tail(1)["charge_id"]
            rows.append({"id": dispute["source"], "amount": amount, "currency": dispute["currency"], "created": dispute["created"],
                         "status": "won", "reason": "fraudulent", "charge_id": charge, "payment_intent_id": "pi_" + charge.split("_", 1)[1],
                         "is_charge_refundable": False})
        self.frames["stripe_disputes"] = pl.DataFrame(rows)
        return charges.with_columns(pl.col("charge_id").is_in([row["charge_id"] for row in rows]).alias("disputed"))

    # -- invoices ----------------------------------------------------------------------------

    def _invoices(self, charges: pl.DataFrame) -> pl.DataFrame:
        """The invoices of `charges`, their lines, discounts, taxes and payments; returns the lines."""
        rng, count = self.rng, charges.height
        currency = charges["currency"].to_numpy()
        gross = charges["amount"].to_numpy().astype(np.int64)
        rate = np.zeros(count, np.int64)
        shipping_fee = np.zeros(count, np.int64)
        unit = np.zeros((count, len(PRODUCT_KEYS)), np.int64)
        for code, rates in catalog.RATES_BY_CURRENCY.items():
            here = currency == code
            rate[here] = np.array([RATE_KEYS.index(key) for key in rates])[rng.integers(len(rates), size=int(here.sum()))]
            if code in catalog.SHIPPING:
                shipping_fee[here] = catalog.SHIPPING[code]
                unit[here] = [catalog.UNIT_PRICES[code][key] for key in PRODUCT_KEYS]
        shipping = np.where((rng.random(count) < SHIPPING_SHARE) & (gross > 4 * shipping_fee), shipping_fee, 0)
        discounted = (rng.random(count) < DISCOUNT_SHARE) & (gross >= 100)
        net = _round_half_up((gross - shipping) * 100_000, 100_000 + RATE_MILLI[rate])
        tax_total = gross - shipping - net
        subtotal = np.where(discounted, _round_half_up(net * 100, 100 - DISCOUNT_PERCENT), net)
        discount_total = subtotal - net
        # Up to two catalog items at fixed prices while they fit below the subtotal, then the rest at a custom price.
        wanted = rng.integers(0, 3, size=count)
        products = rng.integers(len(PRODUCT_KEYS), size=(count, 3))
        quantities = rng.integers(1, 4, size=(count, 2))
        amounts = unit[np.arange(count)[:, None], products[:, :2]] * quantities
        keep_first = (wanted >= 1) & (amounts[:, 0] < subtotal)
        keep_second = keep_first & (wanted >= 2) & (amounts[:, 1] < subtotal - amounts[:, 0])
        left = subtotal - np.where(keep_first, amounts[:, 0], 0) - np.where(keep_second, amounts[:, 1], 0)
        invoice = np.arange(count)
        kept = [keep_first, keep_second, np.ones(count, bool)]
        line_invoice = np.concatenate([invoice[k] for k in kept])
        line_position = np.concatenate([np.zeros(int(keep_first.sum()), np.int32), np.ones(int(keep_second.sum()), np.int32),
                                        (keep_first.astype(np.int32) + keep_second)])
        line_product = np.concatenate([products[keep_first, 0], products[keep_second, 1], products[:, 2]])
        line_fixed = np.concatenate([np.ones(int(keep_first.sum() + keep_second.sum()), bool), np.zeros(count, bool)])
        line_quantity = np.concatenate([quantities[keep_first, 0], quantities[keep_second, 1], np.ones(count, np.int64)])
        line_amount = np.concatenate([amounts[keep_first, 0], amounts[keep_second, 1], left])
        order = np.lexsort((line_position, line_invoice))
        line_invoice, line_position, line_product, line_fixed, line_quantity, line_amount = (
            a[order] for a in (line_invoice, line_position, line_product, line_fixed, line_quantity, line_amount))
        line_discount = _allocate(line_invoice, discount_total, line_amount)
        line_tax = _allocate(line_invoice, tax_total, line_amount - line_discount)
        recurring = np.array([catalog.PRODUCTS[key][2] for key in PRODUCT_KEYS])[line_product] & line_fixed
        subscribed = np.bincount(line_invoice, recurring, minlength=count) > 0

        body = _body(charges["charge_id"])
        ids = charges.select(
            "charge_id", "created", "currency", "customer", "sequence", pl.col("amount").alias("total"),
            (pl.lit("in_") + body).alias("invoice_id"), (pl.lit(f"ACME-{self.world.spec.seed}-") + pl.col("sequence").cast(pl.String).str.zfill(7)).alias("number"),
        ).with_columns(
            pl.Series("rate", rate), pl.Series("shipping", shipping), pl.Series("discounted", discounted),
            pl.Series("subtotal", subtotal), pl.Series("discount_total", discount_total), pl.Series("tax_total", tax_total),
            pl.Series("subscribed", subscribed),
        )
        rate_ids = pl.Series([self.catalog.id("txr", key) for key in RATE_KEYS])
        reasons = pl.Series([catalog.TAX_RATES[key].taxability_reason for key in RATE_KEYS])
        customers = pl.Series([customer["id"] for customer in self.catalog.detail.customers])
        self.frames["stripe_invoices"] = ids.select(
            pl.col("invoice_id").alias("id"), "number", customers.gather(ids["customer"]).alias("customer_id"), "currency", "created",
            pl.lit("paid").alias("status"),
            pl.when(pl.col("subscribed")).then(pl.lit("subscription_cycle")).otherwise(pl.lit("manual")).alias("billing_reason"),
            pl.lit("charge_automatically").alias("collection_method"),
            pl.when(pl.col("subscribed")).then(pl.lit("sub_") + customers.gather(ids["customer"]).str.slice(4) + "_" + pl.col("currency")).alias("subscription_id"),
            "subtotal", pl.col("subtotal").alias("subtotal_excluding_tax"), pl.col("discount_total").alias("total_discount_amount"),
            pl.col("tax_total").alias("total_tax_amount"), pl.col("shipping").alias("amount_shipping"),
            pl.when(pl.col("shipping") > 0).then(pl.col("currency").replace_strict(
                {code: self.catalog.id("shr", code) for code in self.world.spec.currencies})).alias("shipping_rate_id"),
            pl.when(pl.col("shipping") > 0).then(0).alias("shipping_tax_amount"),
            (pl.col("total") - pl.col("tax_total")).alias("total_excluding_tax"), "total", pl.col("total").alias("amount_due"),
            pl.col("total").alias("amount_paid"), pl.col("created").alias("period_start"), pl.col("created").alias("period_end"),
            pl.col("created").alias("paid_at"),
            pl.when(reasons.gather(ids["rate"]) == "reverse_charge").then(pl.lit("reverse")).otherwise(pl.lit("none")).alias("customer_tax_exempt"),
            pl.lit("{}").alias("metadata"),
        )
        self.frames["stripe_invoice_payments"] = ids.select(
            (pl.lit("inpay_") + body).alias("id"), "invoice_id", pl.lit("payment_intent").alias("payment_type"),
            (pl.lit("pi_") + body).alias("payment_intent_id"), pl.col("total").alias("amount_paid"), pl.col("total").alias("amount_requested"),
            "currency", pl.lit("paid").alias("status"), "created", pl.col("created").alias("paid_at"))

        product_ids = [self.catalog.id("prod", key) for key in PRODUCT_KEYS]
        line_of = ids.select("invoice_id", "currency", "created", "rate", "discounted").gather(line_invoice)
        price_ids = {(code, key, kind): self.catalog.price_id(key, code, kind)
                     for code in self.world.spec.currencies for key in PRODUCT_KEYS for kind in ("fixed", "custom")}
        currencies = np.array(self.world.spec.currencies, object)
        prices = np.array([[[price_ids[(code, key, kind)] for kind in ("fixed", "custom")] for key in PRODUCT_KEYS] for code in currencies], object)
        line_currency = np.argmax(line_of["currency"].to_numpy()[:, None] == currencies[None, :], axis=1)
        line_price = prices[line_currency, line_product, (~line_fixed).astype(np.int64)]
        lines = line_of.with_columns(
            pl.Series("position", line_position, pl.Int32), pl.Series("amount", line_amount), pl.Series("quantity", line_quantity),
            pl.Series("discount_amount", line_discount), pl.Series("tax_amount", line_tax),
            pl.Series("product_id", np.array(product_ids, object)[line_product], pl.String), pl.Series("price_id", line_price, pl.String),
            pl.Series("recurring", recurring),
        ).with_columns((pl.lit("il_") + _body(line_of["invoice_id"]) + "_" + pl.col("position").cast(pl.String)).alias("id"))
        self.frames["stripe_invoice_line_items"] = lines.select(
            "id", "invoice_id", "position", "currency", "amount", "quantity", "price_id", "product_id",
            (pl.col("amount") // pl.col("quantity")).cast(pl.String).alias("unit_amount_decimal"),
            pl.col("created").alias("period_start"),
            (pl.col("created") + pl.when(pl.col("recurring")).then(30 * DAY).otherwise(0)).alias("period_end"),
            "discount_amount", "tax_amount",
            pl.lit("invoice_item_details").alias("parent_type"), pl.lit("{}").alias("metadata"))
        discounted_lines = lines.filter(pl.col("discounted"))
        self.frames["stripe_invoice_line_item_discounts"] = discounted_lines.select(
            pl.col("id").alias("line_item_id"), "invoice_id", pl.lit(0, pl.Int32).alias("position"), pl.col("discount_amount").alias("amount"),
            (pl.lit("di_") + _body(discounted_lines["invoice_id"])).alias("discount_id"))
        taxes = lines.select(
            pl.col("id").alias("line_item_id"), "invoice_id", pl.lit(0, pl.Int32).alias("position"), pl.col("tax_amount").alias("amount"),
            (pl.col("amount") - pl.col("discount_amount")).alias("taxable_amount"), rate_ids.gather(lines["rate"]).alias("tax_rate_id"),
            reasons.gather(lines["rate"]).alias("taxability_reason"), pl.lit("exclusive").alias("tax_behavior"))
        self.frames["stripe_invoice_line_item_taxes"] = taxes
        return lines.with_columns(pl.Series("invoice", line_invoice), (pl.col("amount") - pl.col("discount_amount")).alias("net"),
                                  rate_ids.gather(lines["rate"]).alias("tax_rate_id"), reasons.gather(lines["rate"]).alias("taxability_reason"))

    def _credit_notes(self, refunds: pl.DataFrame, lines: pl.DataFrame) -> None:
        """For every CREDIT_NOTE_EVERY-th refund of an invoiced charge: the invoice's lines (net of
        discount), their taxes and its shipping credited in proportion, summing to the refund exactly."""
        invoices = self.frames["stripe_invoices"].select(pl.col("id").alias("invoice_id"), "number", "amount_shipping", "customer_id")
        notes = (refunds.filter(pl.col("sequence") % CREDIT_NOTE_EVERY == 0)
                 .with_columns((pl.lit("in_") + _body(refunds["charge_id"]).filter(refunds["sequence"] % CREDIT_NOTE_EVERY == 0)).alias("invoice_id"))
                 .join(invoices, on="invoice_id").sort("sequence").with_row_index("note"))
        # Components of each note in order: the lines' nets, the lines' taxes, the shipping.
        parts = notes.select("note", "invoice_id").join(lines, on="invoice_id", maintain_order="left")
        nets = parts.select("note", "position", pl.lit(0).alias("kind"), pl.col("net").alias("weight"))
        line_taxes = parts.select("note", "position", pl.lit(1).alias("kind"), pl.col("tax_amount").alias("weight"))
        shipping = notes.select("note", pl.lit(0, pl.Int32).alias("position"), pl.lit(2).alias("kind"), pl.col("amount_shipping").alias("weight"))
        components = pl.concat([nets, line_taxes, shipping]).sort(["note", "kind", "position"])
        shares = _allocate(components["note"].to_numpy().astype(np.int64), notes["amount"].to_numpy().astype(np.int64),
                           components["weight"].to_numpy().astype(np.int64))
        components = components.with_columns(pl.Series("share", shares))
        credited = (parts.select("note", "position", pl.col("id").alias("invoice_line_item_id"), "tax_rate_id", "taxability_reason")
                    .join(components.filter(pl.col("kind") == 0).select("note", "position", pl.col("share").alias("net")), on=["note", "position"])
                    .join(components.filter(pl.col("kind") == 1).select("note", "position", pl.col("share").alias("tax")), on=["note", "position"])
                    .join(notes.select("note", pl.col("id").alias("refund_id")), on="note").sort(["note", "position"]))
        credited = credited.with_columns(
            (pl.lit("cn_") + _body(credited["refund_id"])).alias("credit_note_id"),
            (pl.lit("cnli_") + _body(credited["refund_id"]) + "_" + pl.col("position").cast(pl.String)).alias("id"))
        self.frames["stripe_credit_note_line_items"] = credited.select(
            "id", "credit_note_id", "position", pl.lit("invoice_line_item").alias("type"), "invoice_line_item_id", pl.col("net").alias("amount"),
            pl.lit(1).alias("quantity"), pl.lit(0).alias("discount_amount"), pl.col("tax").alias("tax_amount"))
        self.frames["stripe_credit_note_line_item_taxes"] = credited.select(
            pl.col("id").alias("line_item_id"), "credit_note_id", pl.lit(0, pl.Int32).alias("position"), pl.col("tax").alias("amount"),
            pl.col("net").alias("taxable_amount"), "tax_rate_id", "taxability_reason", pl.lit("exclusive").alias("tax_behavior"))
        totals = credited.group_by("note").agg(pl.col("net").sum().alias("subtotal"), pl.col("tax").sum().alias("total_tax_amount"))
        notes = notes.join(totals, on="note").join(
            components.filter(pl.col("kind") == 2).select("note", pl.col("share").alias("credited_shipping")), on="note").sort("note")
        self.frames["stripe_credit_notes"] = notes.select(
            (pl.lit("cn_") + _body(notes["id"])).alias("id"),
            (pl.col("number") + "-CN-" + pl.col("sequence").cast(pl.String).str.zfill(5)).alias("number"), "invoice_id", "customer_id",
            "currency", "created", pl.col("created").alias("effective_at"), pl.lit("issued").alias("status"), pl.lit("post_payment").alias("type"),
            pl.lit("order_change").alias("reason"), "subtotal", pl.lit(0).alias("discount_amount"), "total_tax_amount",
            pl.col("credited_shipping").alias("amount_shipping"), pl.col("amount").alias("total"), pl.col("id").alias("refund_id"),
            pl.col("amount").alias("refund_amount"))

    # -- charges without an invoice ----------------------------------------------------------

    def _tax_transactions(self, charges: pl.DataFrame) -> None:
        """Every STRIPE_TAX_EVERY-th charge without invoice in a currency with a standard rate: its Stripe Tax
        transaction (tax exclusive: net + tax = gross), at the rates of its currency's jurisdictions in turn."""
        standard = STANDARD_RATES
        eligible = charges.filter(~pl.col("invoiced") & ~pl.col("partial") & ~pl.col("stripe_tax")
                                  & pl.col("currency").is_in([c for c, r in standard.items() if r]))
        taxed = pl.concat([eligible.sort("sequence").gather_every(STRIPE_TAX_EVERY, offset=STRIPE_TAX_EVERY - 1),
                           charges.filter(pl.col("stripe_tax"))]).sort("sequence")
        turn = taxed.select(pl.int_range(pl.len()).over("currency").alias("turn"))["turn"].to_numpy() + 1
        rate = np.array([RATE_KEYS.index(standard[code][n % len(standard[code])]) for code, n in zip(taxed["currency"].to_list(), turn)], np.int64)
        gross = taxed["amount_captured"].to_numpy().astype(np.int64)
        net = _round_half_up(gross * 100_000, 100_000 + RATE_MILLI[rate]) if len(rate) else gross
        customers = pl.Series([customer["id"] for customer in self.catalog.detail.customers])
        body = _body(taxed["charge_id"])
        rates = [catalog.TAX_RATES[key] for key in RATE_KEYS]
        frame = taxed.select(
            (pl.lit("tax_") + body).alias("id"), pl.lit("transaction").alias("type"), (pl.lit("pi_") + body).alias("reference"), "currency",
            customers.gather(taxed["customer"]).alias("customer_id"),
            pl.Series("customer_country", [rates[r].country for r in rate], pl.String),
            pl.Series("customer_state", [rates[r].state for r in rate], pl.String),
            pl.lit("billing").alias("address_source"), pl.lit("none").alias("taxability_override"), "created",
            pl.col("created").alias("posted_at"), pl.col("created").alias("tax_date"),
        )
        self.frames["stripe_tax_transactions"] = frame
        self.frames["stripe_tax_transaction_line_items"] = taxed.select(
            (pl.lit("tax_li_") + body).alias("id"), (pl.lit("tax_") + body).alias("tax_transaction_id"), pl.lit(0, pl.Int32).alias("position"),
            pl.lit("transaction").alias("type"), (pl.lit(f"ORD-{self.world.spec.seed}-") + pl.col("sequence").cast(pl.String).str.zfill(7)).alias("reference"),
            pl.lit(1).alias("quantity"), pl.Series("amount", net), pl.Series("amount_tax", gross - net), pl.lit("exclusive").alias("tax_behavior"),
            pl.lit("txcd_10000000").alias("tax_code"))
        self.taxed = pl.DataFrame({"charge_id": taxed["charge_id"], "tax_transaction": frame["id"]})

    def _tax_reversals(self, refunds: pl.DataFrame, charges: pl.DataFrame) -> pl.DataFrame:
        """The reversal transaction of each refund of a Stripe Tax charge (but every MISSING_REVERSAL_EVERY-th
        sequence), as `sandbox.sales` records it: the refund split in the original's proportions, its tax
        rounded half up (a whole refund: the original's amounts); returns the refunds, naming theirs in metadata."""
        transactions = self.frames["stripe_tax_transactions"]
        lines = self.frames["stripe_tax_transaction_line_items"]
        originals = (self.taxed.join(transactions.rename({"id": "tax_transaction"}), on="tax_transaction")
                     .join(lines.select(pl.col("tax_transaction_id").alias("tax_transaction"), pl.col("id").alias("line_id"),
                                        pl.col("reference").alias("line_reference"), pl.col("amount").alias("line_amount"),
                                        "amount_tax", "tax_behavior", "tax_code"), on="tax_transaction"))
        reversed_ = (refunds.filter((pl.col("reason") == "requested_by_customer") & (pl.col("sequence") % MISSING_REVERSAL_EVERY != 0))
                     .join(originals.drop("created", "currency", "posted_at", "type"), on="charge_id")
                     .join(charges.select("charge_id", "amount_captured"), on="charge_id"))
        tax = _round_half_up(reversed_["amount"].to_numpy().astype(np.int64) * reversed_["amount_tax"].to_numpy(),
                             reversed_["amount_captured"].to_numpy().astype(np.int64))
        reversed_ = reversed_.with_columns(pl.Series("reversed_tax", tax, pl.Int64),
                                           (pl.lit("tax_re") + _body(reversed_["id"])).alias("reversal_id"))
        self.frames["stripe_tax_transactions"] = pl.concat([transactions, reversed_.select(
            pl.col("reversal_id").alias("id"), pl.lit("reversal").alias("type"), (pl.col("reference") + "-" + pl.col("id")).alias("reference"),
            "currency", "customer_id", "customer_country", "customer_state", "address_source", "taxability_override", "created",
            pl.col("created").alias("posted_at"), "tax_date", pl.col("tax_transaction").alias("reversed_transaction_id"),
        )], how="diagonal")
        self.frames["stripe_tax_transaction_line_items"] = pl.concat([lines, reversed_.select(
            (pl.lit("tax_li_re") + _body(reversed_["id"])).alias("id"), pl.col("reversal_id").alias("tax_transaction_id"),
            pl.lit(0, pl.Int32).alias("position"), pl.lit("reversal").alias("type"), (pl.col("line_reference") + "-refund").alias("reference"),
            pl.lit(1).alias("quantity"), (pl.col("reversed_tax") - pl.col("amount")).alias("amount"), (-pl.col("reversed_tax")).alias("amount_tax"),
            "tax_behavior", "tax_code", pl.col("line_id").alias("reversed_line_item_id"),
        )], how="diagonal")
        named = reversed_.select("id", (pl.lit(f'{{"{TAX_TRANSACTION_KEY}":"') + pl.col("reversal_id") + '"}').alias("named"))
        return refunds.join(named, on="id", how="left", maintain_order="left").with_columns(
            pl.coalesce("named", "metadata").alias("metadata")).drop("named")

    def _charge_rows(self, charges: pl.DataFrame) -> None:
        customers = pl.Series([customer["id"] for customer in self.catalog.detail.customers])
        body = _body(charges["charge_id"])
        charges = charges.join(self.taxed, on="charge_id", how="left", maintain_order="left").with_columns(
            (pl.lit(f"ORD-{self.world.spec.seed}-") + pl.col("sequence").cast(pl.String).str.zfill(7)).alias("order_id"),
            pl.when(~pl.col("invoiced")).then(pl.col("category")).alias("revenue_category"))
        metadata = pl.concat([
            charges.select("charge_id", pl.lit("order_id").alias("key"), pl.col("order_id").alias("value")),
            charges.filter(pl.col("revenue_category").is_not_null()).select("charge_id", pl.lit("revenue_category"), "revenue_category")
                   .rename({"literal": "key", "revenue_category": "value"}),
            charges.filter(pl.col("tax_transaction").is_not_null()).select("charge_id", pl.lit(TAX_TRANSACTION_KEY), "tax_transaction")
                   .rename({"literal": "key", "tax_transaction": "value"}),
        ])
        self.frames["stripe_charge_metadata"] = metadata
        # Sorted keys, as `source_tables` writes JSON: order_id < revenue_category < tax_transaction.
        text = (pl.lit('{"order_id":"') + pl.col("order_id") + '"'
                + pl.when(pl.col("revenue_category").is_not_null()).then(pl.lit(',"revenue_category":"') + pl.col("revenue_category") + '"').otherwise(pl.lit(""))
                + pl.when(pl.col("tax_transaction").is_not_null()).then(pl.lit(f',"{TAX_TRANSACTION_KEY}":"') + pl.col("tax_transaction") + '"').otherwise(pl.lit(""))
                + "}")
        self.frames["stripe_charges"] = charges.select(
            pl.col("charge_id").alias("id"), "amount", "amount_captured", "amount_refunded", "currency", "created",
            pl.lit("succeeded").alias("status"), pl.lit(True).alias("captured"), pl.lit(True).alias("paid"),
            (pl.col("amount_refunded") >= pl.col("amount_captured")).alias("refunded"), "disputed", "balance_transaction_id",
            (pl.lit("pi_") + body).alias("payment_intent_id"), customers.gather(charges["customer"]).alias("customer_id"),
            pl.lit("card").alias("payment_method_type"), "card_brand", "card_country", "card_funding", pl.lit("authorized").alias("outcome_type"),
            pl.lit("approved_by_network").alias("outcome_network_status"), pl.lit("ACME ROBOTICS").alias("calculated_statement_descriptor"),
            text.alias("metadata"))


def _landed(table: source_tables.Table, frame: pl.DataFrame, source: str, loaded_at: datetime) -> pa.Table:
    """`frame` as the raw table lands: every declared column in order and type (epoch seconds to
    timestamps; a column not drawn, personal data included, null), then the load's stamps."""
    columns = {}
    for column in table.columns:
        if column.name not in frame.columns:
            columns[column.name] = pa.nulls(frame.height, source_tables.ARROW_TYPES[column.sql_type])
        elif column.sql_type == "timestamp":
            columns[column.name] = (frame[column.name].cast(pl.Int64) * 1_000_000).to_arrow().cast(source_tables.TIMESTAMP)
        else:
            columns[column.name] = frame[column.name].to_arrow().cast(source_tables.ARROW_TYPES[column.sql_type])
    columns["_source"] = pa.array(np.full(frame.height, source, object), pa.string())
    columns["_loaded_at"] = pa.array(np.full(frame.height, np.datetime64(loaded_at, "us")), source_tables.TIMESTAMP)
    return pa.table(columns)
