"""What the simulated merchant sold: the source objects behind each balance transaction.

The balance transactions (`merchant.simulate`) fix every charge's gross and every refund's amount;
this module explains them without changing one: each charge gets a customer, a card, metadata
and, for most, an invoice whose lines (catalog products at fixed prices, then one line at the
product's custom price for what is left), discount (a 10 % coupon on some), shipping and tax
(one rate of the customer's jurisdiction, `catalog.RATES_BY_CURRENCY`) total exactly the gross.
Each refund refunds an earlier charge in its currency that has that much left to refund; about
half of the refunds of invoiced charges come with a credit note whose lines, taxes and shipping
split the refund in the invoice's proportions (largest remainder, so they total it exactly). The
dispute disputes an earlier USD charge. A few charges without an invoice (every STRIPE_TAX_EVERY-th
in a currency with a standard rate) had their tax computed by Stripe Tax: a `tax.transaction` (tax
exclusive, one line: the net and its tax at the rate of the customer's jurisdiction, the
currency's jurisdictions in turn) that the charge's metadata names (`tax_transaction`), since
Stripe lists no tax transactions; each costs ingestion a request. Some refunds take back such a sale
(TAX_REFUND_EVERY): in full a Stripe Tax charge from before the world (last month's sale), or part of
one (of the world when one has enough left, else from before it, twice the refund); as the merchant
records each refund's tax with Stripe Tax, a `reversal` transaction (`mode` full: the original's
amounts negated; partial: the refund split in the original's proportions, tax rounded half up)
follows, named in the refund's metadata (`tax_transaction`), except for every
MISSING_REVERSAL_EVERY-th sequence (a checkout that forgot: the ledger reverses those pro rata). A Connect
transfer's transaction (WorldSpec.connect_transfers) gets its `transfer`. Everything is deterministic from the world's seed, drawn
from its own random stream, so the world's transactions are the same as without it.

Customers carry personal data (name, e-mail, phone, address) that appears in charges' billing
details, receipt e-mails and descriptions, invoices' customer fields and credit notes' memos:
`personal_values` lists it, for tests that prove the warehouse keeps none of it by default.

Objects are built once, as they stand at the world's end (a charge shows all its refunds).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ledger.sources.source_tables import TAX_TRANSACTION_KEY
from sandbox import catalog
from sandbox.merchant import DAY, PARTIAL_CAPTURE, World, stable_id
from sandbox.source_objects import address, card_details, listed, outcome, shaped, tax_amount

INVOICED_SHARE = 0.75
DISCOUNT_SHARE = 0.3
DISCOUNT_PERCENT = 10
SHIPPING_SHARE = 0.4
CREDIT_NOTE_EVERY = 2
CUSTOMERS = 40
# How far back a refund looks for a charge with enough left to refund.
REFUND_SEARCH = 200
COUPON_ID = "SAVE10"
# A refund whose balance transaction's description ends so refunds a charge paid with a card of that
# country: how a simulated world injects an anomaly into one card country (sandbox.anomaly_worlds).
CARD_COUNTRY_REFUND = re.compile(r"\(refund of an? (?P<country>[A-Z]{2}) card\)$")
STRIPE_TAX_EVERY = 10
# A refund whose sequence is FULL_TAX_REFUND modulo TAX_REFUND_EVERY refunds a Stripe Tax charge in
# full, PARTIAL_TAX_REFUND in part (in a currency with a standard rate). The merchant records no
# reversal for a refund whose sequence is a multiple of MISSING_REVERSAL_EVERY.
TAX_REFUND_EVERY = 6
FULL_TAX_REFUND = 1
PARTIAL_TAX_REFUND = 4
MISSING_REVERSAL_EVERY = 5


@dataclass
class SalesDetail:
    """Every source object of a world, by Stripe resource, plus the customers' personal data."""

    charges: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    invoice_payments: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    prices: list[dict[str, Any]] = field(default_factory=list)
    tax_rates: list[dict[str, Any]] = field(default_factory=list)
    tax_transactions: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, str]] = field(default_factory=list)

    def by_resource(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "charges": self.charges, "refunds": self.refunds, "disputes": self.disputes, "invoices": self.invoices,
            "invoice_payments": self.invoice_payments, "credit_notes": self.credit_notes, "products": self.products,
            "prices": self.prices, "tax_rates": self.tax_rates, "tax_transactions": self.tax_transactions, "transfers": self.transfers,
        }

    def personal_values(self) -> list[str]:
        """The customers' names, e-mails, phones and street lines: none may reach the warehouse by default."""
        return [customer[key] for customer in self.customers for key in ("name", "email", "phone", "line1")]


def _allocate(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split in proportion to `weights` (non-negative), largest remainder: sums to `total` exactly."""
    whole = sum(weights)
    if whole == 0:
        return [total] + [0] * (len(weights) - 1) if weights else []
    shares = [total * weight // whole for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for index in remainders[: total - sum(shares)]:
        shares[index] += 1
    return shares


def _number(value: Decimal) -> int | float:
    """A JSON number as Stripe's fixtures print it: 19 for a whole percentage, 8.875 otherwise."""
    return int(value) if value == int(value) else float(value)


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class _Builder:
    def __init__(self, world: World) -> None:
        self.world = world
        self.seed = world.spec.seed
        self.rng = np.random.default_rng([world.spec.seed, 17])
        self.detail = SalesDetail()
        self.catalog_created = world.spec.start_ts - 30 * DAY
        self._charges_by_id: dict[str, dict[str, Any]] = {}
        self._invoice_of_charge: dict[str, dict[str, Any]] = {}
        # Charges without an invoice so far, and Stripe Tax transactions per currency: who is taxed, at which rate.
        self._uninvoiced = 0
        self._stripe_taxed: dict[str, int] = {}
        self._tax_transactions: dict[str, dict[str, Any]] = {}
        # Per currency: the world's Stripe Tax charges in `created` order, for the refunds that take one back.
        self._stripe_tax_charges: dict[str, list[dict[str, Any]]] = {}
        # Per currency: charges in `created` order, for refunds to find theirs.
        self._charge_times: dict[str, list[int]] = {}
        self._charge_list: dict[str, list[dict[str, Any]]] = {}

    def id(self, prefix: str, *parts: object) -> str:
        return stable_id(prefix, self.seed, "sales", *parts)

    # -- catalog ---------------------------------------------------------------------------

    def build_catalog(self) -> None:
        created = self.catalog_created
        for key, (name, kind, _) in catalog.PRODUCTS.items():
            self.detail.products.append(shaped(
                "product", active=True, created=created, default_price=None, description=f"{name}: ACME Robotics catalog item",
                id=self.id("prod", key), images=[], livemode=False, marketing_features=[], metadata={}, name=name, object="product",
                package_dimensions=None, shippable=kind == "good", statement_descriptor=None, tax_code=None, unit_label=None,
                updated=created, url=None, type=kind,
            ))
        for currency in self.world.spec.currencies:
            for key, (_, _, recurring) in catalog.PRODUCTS.items():
                unit = catalog.UNIT_PRICES[currency][key]
                self.detail.prices.append(self._price(key, currency, "fixed", unit, recurring))
                self.detail.prices.append(self._price(key, currency, "custom", None, False))
        for rate in catalog.TAX_RATES.values():
            self.detail.tax_rates.append(shaped(
                "tax_rate", active=True, country=rate.country, created=created, description=rate.description,
                display_name=rate.display_name, effective_percentage=_number(rate.percentage), id=self.id("txr", rate.key),
                inclusive=False, jurisdiction=rate.jurisdiction, jurisdiction_level=rate.jurisdiction_level, livemode=False,
                metadata={}, object="tax_rate", percentage=_number(rate.percentage), state=rate.state, tax_type=rate.tax_type,
                flat_amount=None, rate_type="percentage",
            ))
        for number in range(CUSTOMERS):
            self.detail.customers.append({
                "id": self.id("cus", number), "name": f"Ada Piiperson{number:03d}", "email": f"ada.piiperson{number:03d}@pii.example",
                "phone": f"+1-555-77{number:03d}", "line1": f"{number + 1} Piiperson Lane",
            })

    def _price(self, product: str, currency: str, kind: str, unit: int | None, recurring: bool) -> dict[str, Any]:
        return shaped(
            "price", active=True, billing_scheme="per_unit", created=self.catalog_created, currency=currency,
            custom_unit_amount={"maximum": None, "minimum": None, "preset": None} if unit is None else None,
            id=self.price_id(product, currency, kind), livemode=False, lookup_key=f"{product}_{currency}_{kind}", metadata={},
            nickname=None, object="price", product=self.id("prod", product),
            recurring={"interval": "month", "interval_count": 1, "meter": None, "usage_type": "licensed", "trial_period_days": None} if recurring else None,
            tax_behavior="exclusive", tiers_mode=None, transform_quantity=None, type="recurring" if recurring else "one_time",
            unit_amount=unit, unit_amount_decimal=None if unit is None else str(unit),
        )

    def price_id(self, product: str, currency: str, kind: str) -> str:
        return self.id("price", product, currency, kind)

    # -- charges and invoices --------------------------------------------------------------

    def charge(self, row: dict[str, Any], sequence: int, *, captured: int | None = None, invoiced: bool | None = None,
               stripe_tax: bool | None = None) -> None:
        """The charge behind a `charge` balance transaction (gross `amount`), with its invoice if invoiced;
        taxed by Stripe Tax when `stripe_tax` (None: every STRIPE_TAX_EVERY-th charge without an invoice)."""
        currency, gross, created = row["currency"], row["amount"], row["created"]
        rng = self.rng
        customer = self.detail.customers[int(rng.integers(CUSTOMERS))]
        invoiced = bool(rng.random() < INVOICED_SHARE) if invoiced is None else invoiced
        brand = catalog.CARD_BRANDS[int(rng.integers(len(catalog.CARD_BRANDS)))]
        countries = catalog.CARD_COUNTRIES[currency]
        country = countries[int(rng.integers(len(countries)))]
        funding = catalog.CARD_FUNDING[int(rng.integers(len(catalog.CARD_FUNDING)))]
        order = f"ORD-{self.seed}-{sequence:07d}"
        metadata = {"order_id": order}
        if not invoiced:
            metadata["revenue_category"] = catalog.UNINVOICED_CATEGORIES[int(rng.integers(len(catalog.UNINVOICED_CATEGORIES)))]
        charge_id, payment_intent = row["source"], self.id("pi", row["source"])
        standard_rates = [key for key in catalog.RATES_BY_CURRENCY[currency] if catalog.TAX_RATES[key].taxability_reason == "standard_rated"]
        if not invoiced and captured is None and standard_rates:
            if stripe_tax is None:
                self._uninvoiced += 1
                stripe_tax = self._uninvoiced % STRIPE_TAX_EVERY == 0
            if stripe_tax:
                taxed = self._stripe_taxed[currency] = self._stripe_taxed.get(currency, 0) + 1
                rate = catalog.TAX_RATES[standard_rates[taxed % len(standard_rates)]]
                metadata[TAX_TRANSACTION_KEY] = self._tax_transaction(row, customer, payment_intent, order, rate)
        application_fee = row.get("application_fee") or 0
        charge = shaped(
            "charge", amount=gross, amount_captured=gross if captured is None else captured, amount_refunded=0,
            application="ca_sandbox_platform" if application_fee else None,
            application_fee=self.id("fee", charge_id) if application_fee else None, application_fee_amount=application_fee or None,
            balance_transaction=row["id"],
            billing_details={"address": address(customer["line1"], "Springfield", "12345", None, country), "email": customer["email"],
                             "name": customer["name"], "phone": customer["phone"], "tax_id": None},
            calculated_statement_descriptor="ACME ROBOTICS", captured=True, created=created, currency=currency,
            customer=customer["id"], description=f"Order {order} for {customer['name']}", disputed=False,
            failure_balance_transaction=None, failure_code=None, failure_message=None, fraud_details={}, id=charge_id, livemode=False,
            metadata=metadata, object="charge", on_behalf_of=None, outcome=outcome(), paid=True, payment_intent=payment_intent,
            payment_method=self.id("pm", charge_id), payment_method_details=card_details(brand, country, funding, f"{sequence % 10_000:04d}"),
            receipt_email=customer["email"], receipt_number=None, receipt_url=None, refunded=False,
            refunds=listed([], f"/v1/charges/{charge_id}/refunds"), review=None, shipping=None, source_transfer=None,
            statement_descriptor=None, statement_descriptor_suffix=None, status="succeeded", transfer_data=None, transfer_group=None,
            source=None,
        )
        self.detail.charges.append(charge)
        self._charges_by_id[charge_id] = charge
        # Charges arrive in `created` order, except those from before the world, which no later refund needs.
        if created >= self.world.spec.start_ts:
            self._charge_times.setdefault(currency, []).append(created)
            self._charge_list.setdefault(currency, []).append(charge)
            if TAX_TRANSACTION_KEY in metadata:
                self._stripe_tax_charges.setdefault(currency, []).append(charge)
        if invoiced:
            self._invoice(charge, customer, gross, sequence)

    def _invoice(self, charge: dict[str, Any], customer: dict[str, str], gross: int, sequence: int) -> None:
        rng, currency, created = self.rng, charge["currency"], charge["created"]
        rates = catalog.RATES_BY_CURRENCY[currency]
        rate = catalog.TAX_RATES[rates[int(rng.integers(len(rates)))]]
        shipping = catalog.SHIPPING[currency] if rng.random() < SHIPPING_SHARE and gross > 4 * catalog.SHIPPING[currency] else 0
        discounted = bool(rng.random() < DISCOUNT_SHARE) and gross >= 100
        net = _round(Decimal(gross - shipping) * 100 / (100 + rate.percentage))
        tax_total = gross - shipping - net
        subtotal = _round(Decimal(net) * 100 / (100 - DISCOUNT_PERCENT)) if discounted else net
        discount_total = subtotal - net
        # Lines: catalog items at fixed prices while they fit, then the rest at a product's custom price.
        items: list[tuple[str, str, int, int]] = []  # (product, price kind, quantity, amount)
        left = subtotal
        for _ in range(int(rng.integers(0, 3))):
            product = list(catalog.PRODUCTS)[int(rng.integers(len(catalog.PRODUCTS)))]
            unit = catalog.UNIT_PRICES[currency][product]
            quantity = int(rng.integers(1, 4))
            if unit * quantity >= left:
                break
            items.append((product, "fixed", quantity, unit * quantity))
            left -= unit * quantity
        custom_product = list(catalog.PRODUCTS)[int(rng.integers(len(catalog.PRODUCTS)))]
        items.append((custom_product, "custom", 1, left))
        discounts = _allocate(discount_total, [amount for *_, amount in items])
        taxes = _allocate(tax_total, [amount - discount for (*_, amount), discount in zip(items, discounts)])
        invoice_id = self.id("in", charge["id"])
        discount_id = self.id("di", invoice_id) if discounted else None
        tax_rate_id = self.id("txr", rate.key)
        lines = []
        for position, ((product, kind, quantity, amount), discount, tax) in enumerate(zip(items, discounts, taxes)):
            recurring = catalog.PRODUCTS[product][2] and kind == "fixed"
            line_id = self.id("il", invoice_id, position)
            lines.append(shaped(
                "line_item", amount=amount, currency=currency, description=f"{quantity} × {catalog.PRODUCTS[product][0]}",
                discount_amounts=[{"amount": discount, "discount": discount_id}] if discount_id else [], discountable=True,
                discounts=[discount_id] if discount_id else [], id=line_id, invoice=invoice_id, livemode=False, metadata={},
                object="line_item", period={"end": created + (30 * DAY if recurring else 0), "start": created}, quantity=quantity,
                subscription=None, pretax_credit_amounts=[], taxes=[tax_amount(tax, amount - discount, tax_rate_id, rate.taxability_reason)],
                parent={"invoice_item_details": {"invoice_item": self.id("ii", line_id), "proration": False, "proration_details": None,
                                                 "subscription": None},
                        "subscription_item_details": None, "type": "invoice_item_details"},
                pricing={"price_details": {"price": self.price_id(product, currency, kind), "product": self.id("prod", product)},
                         "type": "price_details", "unit_amount_decimal": str(amount // quantity)},
                subtotal=amount, quantity_decimal=str(quantity),
            ))
        # An invoice with a recurring product's line bills the customer's subscription (one per customer and currency).
        subscription = self.id("sub", customer["id"], currency) if any(
            catalog.PRODUCTS[product][2] and kind == "fixed" for product, kind, *_ in items) else None
        invoice = shaped(
            "invoice", account_country="US", account_name="ACME Robotics Inc", account_tax_ids=None, amount_due=gross, amount_paid=gross,
            amount_remaining=0, amount_shipping=shipping, application=None, attempt_count=1, attempted=True, auto_advance=False,
            automatic_tax=None, billing_reason="subscription_cycle" if subscription else "manual", collection_method="charge_automatically", created=created, currency=currency,
            custom_fields=None, customer=customer["id"],
            customer_address=address(customer["line1"], "Springfield", "12345", None, charge["payment_method_details"]["card"]["country"]),
            customer_email=customer["email"], customer_name=customer["name"], customer_phone=customer["phone"], customer_shipping=None,
            customer_tax_exempt="reverse" if rate.taxability_reason == "reverse_charge" else "none", customer_tax_ids=[],
            default_payment_method=None, default_source=None, default_tax_rates=[], description=f"Thank you for your order, {customer['name']}",
            discounts=[discount_id] if discount_id else [], due_date=None, effective_at=created, ending_balance=0, footer=None,
            from_invoice=None, hosted_invoice_url=None, id=invoice_id, invoice_pdf=None, issuer={"type": "self"},
            last_finalization_error=None, latest_revision=None, lines=listed(lines, f"/v1/invoices/{invoice_id}/lines"), livemode=False,
            metadata={}, next_payment_attempt=None, number=f"ACME-{self.seed}-{sequence:07d}", object="invoice", on_behalf_of=None,
            payment_settings=None, period_end=created, period_start=created, post_payment_credit_notes_amount=0,
            pre_payment_credit_notes_amount=0, receipt_number=None, rendering=None,
            shipping_cost={"amount_subtotal": shipping, "amount_tax": 0, "amount_total": shipping,
                           "shipping_rate": self.id("shr", currency)} if shipping else None,
            shipping_details=None, starting_balance=0, statement_descriptor=None, status="paid",
            status_transitions={"finalized_at": created, "marked_uncollectible_at": None, "paid_at": created, "voided_at": None},
            subscription=None, subtotal=subtotal, subtotal_excluding_tax=subtotal, test_clock=None, total=gross,
            total_discount_amounts=[{"amount": discount_total, "discount": discount_id}] if discount_id else [],
            total_excluding_tax=gross - tax_total, webhooks_delivered_at=created, automatically_finalizes_at=None,
            total_pretax_credit_amounts=[], total_taxes=[tax_amount(tax_total, net, tax_rate_id, rate.taxability_reason)],
            amount_overpaid=0, customer_account=None,
            parent={"quote_details": None, "subscription_details": {"metadata": None, "subscription": subscription},
                    "type": "subscription_details"} if subscription else None,
        )
        self.detail.invoices.append(invoice)
        self._invoice_of_charge[charge["id"]] = invoice
        self.detail.invoice_payments.append(shaped(
            "invoice_payment", amount_paid=gross, amount_requested=gross, created=created, currency=currency,
            id=self.id("inpay", invoice_id), invoice=invoice_id, is_default=True, livemode=False, object="invoice_payment",
            payment={"payment_intent": charge["payment_intent"], "type": "payment_intent"}, status="paid",
            status_transitions={"canceled_at": None, "paid_at": created},
        ))

    def _tax_transaction(self, row: dict[str, Any], customer: dict[str, str], payment_intent: str, order: str, rate: catalog.TaxRate) -> str:
        """The Stripe Tax transaction of a charge without an invoice (tax exclusive: net + tax = gross); returns its id."""
        gross, created, currency = row["amount"], row["created"], row["currency"]
        net = _round(Decimal(gross) * 100 / (100 + rate.percentage))
        transaction_id = self.id("tax", row["source"])
        line = shaped(
            "tax.transaction_line_item", amount=net, amount_tax=gross - net, id=self.id("tax_li", transaction_id), livemode=False,
            metadata=None, object="tax.transaction_line_item", product=None, quantity=1, reference=order, reversal=None,
            tax_behavior="exclusive", tax_code="txcd_10000000", type="transaction",
        )
        self._tax_transactions[transaction_id] = shaped(
            "tax.transaction", created=created, currency=currency, customer=customer["id"],
            customer_details={"address": address(customer["line1"], "Springfield", "12345", rate.state, rate.country),
                              "address_source": "billing", "ip_address": None, "tax_ids": [], "taxability_override": "none"},
            id=transaction_id, line_items=listed([line], f"/v1/tax/transactions/{transaction_id}/line_items"), livemode=False,
            metadata=None, object="tax.transaction", posted_at=created, reference=payment_intent, reversal=None,
            ship_from_details=None, shipping_cost=None, tax_date=created, type="transaction",
        )
        self.detail.tax_transactions.append(self._tax_transactions[transaction_id])
        return transaction_id

    def _tax_reversal(self, charge: dict[str, Any], refund: dict[str, Any]) -> str:
        """The reversal transaction recording `refund`'s tax (POST /v1/tax/transactions/create_reversal):
        `mode` full when the refund takes back the whole charge (the original's amounts negated), else
        partial, the refund split in the original's proportions (its tax rounded half up); returns its id."""
        original = self._tax_transactions[charge["metadata"][TAX_TRANSACTION_KEY]]
        [line] = original["line_items"]["data"]
        if refund["amount"] == charge["amount_captured"]:
            amount, tax = line["amount"], line["amount_tax"]
        else:
            tax = _round(Decimal(refund["amount"]) * line["amount_tax"] / charge["amount_captured"])
            amount = refund["amount"] - tax
        reversal_id = self.id("tax", refund["id"])
        reversed_line = shaped(
            "tax.transaction_line_item", amount=-amount, amount_tax=-tax, id=self.id("tax_li", reversal_id), livemode=False,
            metadata=None, object="tax.transaction_line_item", product=None, quantity=1, reference=f"{line['reference']}-refund",
            reversal={"original_line_item": line["id"]}, tax_behavior=line["tax_behavior"], tax_code=line["tax_code"], type="reversal",
        )
        self.detail.tax_transactions.append(shaped(
            "tax.transaction", created=refund["created"], currency=original["currency"], customer=original["customer"],
            customer_details=original["customer_details"], id=reversal_id,
            line_items=listed([reversed_line], f"/v1/tax/transactions/{reversal_id}/line_items"), livemode=False, metadata=None,
            object="tax.transaction", posted_at=refund["created"], reference=f"{original['reference']}-{refund['id']}",
            reversal={"original_transaction": original["id"]}, ship_from_details=None, shipping_cost=None,
            tax_date=original["tax_date"], type="reversal",
        ))
        return reversal_id

    def transfer(self, row: dict[str, Any]) -> None:
        """The Connect transfer behind a `transfer` balance transaction (a debit: the transfer's amount is positive)."""
        destination = row["description"].removeprefix("Transfer to ")
        self.detail.transfers.append(shaped(
            "transfer", amount=-row["amount"], amount_reversed=0, balance_transaction=row["id"], created=row["created"],
            currency=row["currency"], description="Seller payout for marketplace orders", destination=destination,
            destination_payment=self.id("py", row["source"]), id=row["source"], livemode=False, metadata={}, object="transfer",
            reversals=listed([], f"/v1/transfers/{row['source']}/reversals"), reversed=False, source_transaction=None,
            source_type="card", transfer_group=None,
        ))

    # -- refunds, credit notes, disputes ---------------------------------------------------

    def refund(self, row: dict[str, Any], sequence: int, charge: dict[str, Any] | None = None, reason: str | None = "requested_by_customer") -> None:
        amount = -row["amount"]
        country = CARD_COUNTRY_REFUND.search(row["description"] or "")
        if charge is None:
            drawn = self._refundable(row["currency"], row["created"], amount, country and country["country"])
            # The draw is made whichever charge is refunded, so the random stream stays the world's.
            charge = (None if country else self._stripe_tax_refund(row, amount, sequence)) or drawn or self._earlier_charge(row, amount, sequence)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        refund = shaped(
            "refund", amount=amount, balance_transaction=row["id"], charge=charge["id"], created=row["created"], currency=row["currency"],
            destination_details={"card": {"type": "refund"}, "type": "card"}, id=row["source"], metadata={}, object="refund",
            payment_intent=charge["payment_intent"], reason=reason, receipt_number=None, source_transfer_reversal=None,
            status="succeeded", transfer_reversal=None, customer=charge["customer"], customer_account=None,
            payment_method=charge["payment_method"],
        )
        if TAX_TRANSACTION_KEY in charge["metadata"] and reason == "requested_by_customer" and sequence % MISSING_REVERSAL_EVERY:
            refund["metadata"][TAX_TRANSACTION_KEY] = self._tax_reversal(charge, refund)
        charge["refunds"]["data"].append(refund)
        self.detail.refunds.append(refund)
        invoice = self._invoice_of_charge.get(charge["id"])
        if invoice is not None and sequence % CREDIT_NOTE_EVERY == 0:
            self._credit_note(invoice, refund, sequence)

    def _refundable(self, currency: str, before: int, amount: int, card_country: str | None = None) -> dict[str, Any] | None:
        """A charge in `currency` (paid with a card of `card_country`, when given) created before `before`
        with `amount` left to refund, chosen at random among the nearest."""
        times, charges = self._charge_times.get(currency, []), self._charge_list.get(currency, [])
        end = bisect.bisect_left(times, before)
        candidates = [c for c in charges[max(0, end - REFUND_SEARCH):end] if c["amount_captured"] - c["amount_refunded"] >= amount
                      and card_country in (None, c["payment_method_details"]["card"]["country"])]
        return candidates[int(self.rng.integers(len(candidates)))] if candidates else None

    def _stripe_tax_refund(self, row: dict[str, Any], amount: int, sequence: int) -> dict[str, Any] | None:
        """The Stripe Tax charge a refund takes back, if its sequence says so (TAX_REFUND_EVERY): in full, one
        from before the world of the refund's amount; in part, the world's latest with enough left, else one
        from before the world."""
        turn = sequence % TAX_REFUND_EVERY
        if turn not in (FULL_TAX_REFUND, PARTIAL_TAX_REFUND) or not any(
                catalog.TAX_RATES[key].taxability_reason == "standard_rated" for key in catalog.RATES_BY_CURRENCY[row["currency"]]):
            return None
        if turn == FULL_TAX_REFUND:
            return self._earlier_charge(row, amount, sequence, whole=True)
        fitting = [charge for charge in self._stripe_tax_charges.get(row["currency"], [])
                   if charge["created"] < row["created"] and charge["amount_captured"] - charge["amount_refunded"] >= amount]
        return fitting[-1] if fitting else self._earlier_charge(row, amount, sequence, stripe_tax=True)

    def _earlier_charge(self, row: dict[str, Any], amount: int, sequence: int, *, whole: bool = False,
                        stripe_tax: bool | None = None) -> dict[str, Any]:
        """A charge from before the world (its balance transaction is not in it), for a refund no charge of the
        world can carry: twice the refund (the refund itself when `whole`, taxed by Stripe Tax), without an
        invoice. Ingestion by `created` window reaches it only by id."""
        charge_id = self.id("ch", "before", row["source"])
        before = {"currency": row["currency"], "amount": amount if whole else 2 * amount, "created": self.world.spec.start_ts - 10 * DAY,
                  "source": charge_id, "id": self.id("txn", "before", row["source"])}
        self.charge(before, sequence, invoiced=False, stripe_tax=True if whole else stripe_tax)
        return self._charges_by_id[charge_id]

    def _credit_note(self, invoice: dict[str, Any], refund: dict[str, Any], sequence: int) -> None:
        """A credit note for `refund`: the invoice's lines (net of discount), their taxes and the shipping, in proportion."""
        lines = invoice["lines"]["data"]
        nets = [line["amount"] - sum(d["amount"] for d in line["discount_amounts"]) for line in lines]
        line_taxes = [sum(t["amount"] for t in line["taxes"]) for line in lines]
        shares = _allocate(refund["amount"], [*nets, *line_taxes, invoice["amount_shipping"]])
        credited_nets, credited_taxes, shipping = shares[: len(lines)], shares[len(lines): 2 * len(lines)], shares[-1]
        note_id = self.id("cn", refund["id"])
        note_lines = []
        for position, (line, net, tax) in enumerate(zip(lines, credited_nets, credited_taxes)):
            rate = line["taxes"][0]
            note_lines.append(shaped(
                "credit_note_line_item", amount=net, description=line["description"], discount_amount=0, discount_amounts=[],
                id=self.id("cnli", note_id, position), invoice_line_item=line["id"], livemode=False, object="credit_note_line_item",
                quantity=1, tax_rates=[], type="invoice_line_item", unit_amount=None, unit_amount_decimal=None, pretax_credit_amounts=[],
                taxes=[tax_amount(tax, net, rate["tax_rate_details"]["tax_rate"], rate["taxability_reason"])], metadata={},
            ))
        total_tax = sum(credited_taxes)
        subtotal = sum(credited_nets)
        tax_rate = invoice["total_taxes"][0]
        customer = next(c for c in self.detail.customers if c["id"] == invoice["customer"])
        self.detail.credit_notes.append(shaped(
            "credit_note", amount=refund["amount"], amount_shipping=shipping, created=refund["created"], currency=invoice["currency"],
            customer=invoice["customer"], customer_balance_transaction=None, discount_amount=0, discount_amounts=[],
            effective_at=refund["created"], id=note_id, invoice=invoice["id"], lines=listed(note_lines, f"/v1/credit_notes/{note_id}/lines"),
            livemode=False, memo=f"Partial refund agreed with {customer['name']}", metadata={}, number=f"{invoice['number']}-CN-{sequence:05d}",
            object="credit_note", out_of_band_amount=None, pdf=None,
            shipping_cost={"amount_subtotal": shipping, "amount_tax": 0, "amount_total": shipping,
                           "shipping_rate": invoice["shipping_cost"]["shipping_rate"]} if shipping else None,
            status="issued", subtotal=subtotal, subtotal_excluding_tax=subtotal, total=refund["amount"],
            total_excluding_tax=refund["amount"] - total_tax, type="post_payment", voided_at=None, pretax_credit_amounts=[],
            total_taxes=[tax_amount(total_tax, subtotal, tax_rate["tax_rate_details"]["tax_rate"], tax_rate["taxability_reason"])],
            refunds=[{"amount_refunded": refund["amount"], "refund": refund["id"], "payment_record_refund": None, "type": "refund"}],
            post_payment_amount=refund["amount"], pre_payment_amount=0, reason="order_change", customer_account=None,
        ))

    def dispute(self, row: dict[str, Any]) -> None:
        """The dispute of `row` (its withdrawal), on the most recent earlier USD charge it fits; won later."""
        amount = -row["amount"]
        charge = self._refundable(row["currency"], row["created"], amount)
        if charge is None:
            raise ValueError(f"no {row['currency']} charge before {row['created']} can carry dispute {row['source']}")
        charge["disputed"] = True
        self.detail.disputes.append(shaped(
            "dispute", amount=amount, balance_transactions=[], charge=charge["id"], created=row["created"], currency=row["currency"],
            evidence=None, evidence_details=None, id=row["source"], is_charge_refundable=False, livemode=False, metadata={},
            object="dispute", payment_intent=charge["payment_intent"], payment_method_details=None, reason="fraudulent", status="won",
            enhanced_eligibility_types=[],
        ))


# Built once per world: id(world) -> (the world, kept alive so its id stays its own; its detail).
_BUILT: dict[int, tuple[World, SalesDetail]] = {}


def _build(world: World) -> SalesDetail:
    builder = _Builder(world)
    builder.build_catalog()
    table = world.balance_transactions
    rows = table.filter(
        np.isin(table.column("event").to_numpy(zero_copy_only=False), ["charge", "refund", "partial_capture_reversal", "dispute", "transfer"])
    ).sort_by([("created", "ascending"), ("id", "ascending")]).to_pylist()
    sequence = 0
    partial_charges: dict[str, dict[str, Any]] = {}
    for row in rows:
        sequence += 1
        if row["event"] == "charge":
            partial = row["description"].endswith("(partial capture)")
            builder.charge(row, sequence, captured=PARTIAL_CAPTURE[1] if partial else None, invoiced=False if partial else None)
            if partial:
                partial_charges[row["currency"]] = builder.detail.charges[-1]
        elif row["event"] == "partial_capture_reversal":
            builder.refund(row, sequence, charge=partial_charges[row["currency"]], reason="expired_uncaptured_charge")
        elif row["event"] == "refund":
            builder.refund(row, sequence)
        elif row["event"] == "transfer":
            builder.transfer(row)
        else:
            builder.dispute(row)
    return builder.detail


def sales(world: World) -> SalesDetail:
    """The source objects of `world` (built on first use, then kept with the world)."""
    if id(world) not in _BUILT:
        _BUILT[id(world)] = (world, _build(world))
    return _BUILT[id(world)][1]
