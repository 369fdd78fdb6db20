"""Stripe-shaped JSON for the source objects of the simulated world: charges, refunds, disputes,
invoices with their lines, credit notes with theirs, invoice payments, products, prices, tax rates,
Stripe Tax transactions with their lines, Connect transfers.

Every object carries exactly the keys of Stripe's own example object of its kind (shared/samples/
stripe/openapi_fixtures3.json, copied below); a key the simulator has no value for is null. One
kind of addition, where the fixtures omit optional sub-objects that stripe-python's classes have:
a line item's `pricing.price_details` (`price`, `product`: where Stripe's API, since 2025-03-31,
puts a line's price and product) and an invoice payment's `payment.payment_intent`.
"""

from __future__ import annotations

from typing import Any

FIXTURE_KEYS: dict[str, tuple[str, ...]] = {
    "charge": ('amount', 'amount_captured', 'amount_refunded', 'application', 'application_fee', 'application_fee_amount', 'balance_transaction', 'billing_details', 'calculated_statement_descriptor', 'captured', 'created', 'currency', 'customer', 'description', 'disputed', 'failure_balance_transaction', 'failure_code', 'failure_message', 'fraud_details', 'id', 'livemode', 'metadata', 'object', 'on_behalf_of', 'outcome', 'paid', 'payment_intent', 'payment_method', 'payment_method_details', 'receipt_email', 'receipt_number', 'receipt_url', 'refunded', 'refunds', 'review', 'shipping', 'source_transfer', 'statement_descriptor', 'statement_descriptor_suffix', 'status', 'transfer_data', 'transfer_group', 'source'),
    "refund": ('amount', 'balance_transaction', 'charge', 'created', 'currency', 'destination_details', 'id', 'metadata', 'object', 'payment_intent', 'reason', 'receipt_number', 'source_transfer_reversal', 'status', 'transfer_reversal', 'customer', 'customer_account', 'payment_method'),
    "dispute": ('amount', 'balance_transactions', 'charge', 'created', 'currency', 'evidence', 'evidence_details', 'id', 'is_charge_refundable', 'livemode', 'metadata', 'object', 'payment_intent', 'payment_method_details', 'reason', 'status', 'enhanced_eligibility_types'),
    "invoice": ('account_country', 'account_name', 'account_tax_ids', 'amount_due', 'amount_paid', 'amount_remaining', 'amount_shipping', 'application', 'attempt_count', 'attempted', 'auto_advance', 'automatic_tax', 'billing_reason', 'collection_method', 'created', 'currency', 'custom_fields', 'customer', 'customer_address', 'customer_email', 'customer_name', 'customer_phone', 'customer_shipping', 'customer_tax_exempt', 'customer_tax_ids', 'default_payment_method', 'default_source', 'default_tax_rates', 'description', 'discounts', 'due_date', 'effective_at', 'ending_balance', 'footer', 'from_invoice', 'hosted_invoice_url', 'id', 'invoice_pdf', 'issuer', 'last_finalization_error', 'latest_revision', 'lines', 'livemode', 'metadata', 'next_payment_attempt', 'number', 'object', 'on_behalf_of', 'payment_settings', 'period_end', 'period_start', 'post_payment_credit_notes_amount', 'pre_payment_credit_notes_amount', 'receipt_number', 'rendering', 'shipping_cost', 'shipping_details', 'starting_balance', 'statement_descriptor', 'status', 'status_transitions', 'subscription', 'subtotal', 'subtotal_excluding_tax', 'test_clock', 'total', 'total_discount_amounts', 'total_excluding_tax', 'webhooks_delivered_at', 'automatically_finalizes_at', 'total_pretax_credit_amounts', 'total_taxes', 'amount_overpaid', 'parent', 'customer_account'),
    "line_item": ('amount', 'currency', 'description', 'discount_amounts', 'discountable', 'discounts', 'id', 'invoice', 'livemode', 'metadata', 'object', 'period', 'quantity', 'subscription', 'pretax_credit_amounts', 'taxes', 'parent', 'pricing', 'subtotal', 'quantity_decimal'),
    "credit_note": ('amount', 'amount_shipping', 'created', 'currency', 'customer', 'customer_balance_transaction', 'discount_amount', 'discount_amounts', 'effective_at', 'id', 'invoice', 'lines', 'livemode', 'memo', 'metadata', 'number', 'object', 'out_of_band_amount', 'pdf', 'shipping_cost', 'status', 'subtotal', 'subtotal_excluding_tax', 'total', 'total_excluding_tax', 'type', 'voided_at', 'pretax_credit_amounts', 'total_taxes', 'refunds', 'post_payment_amount', 'pre_payment_amount', 'reason', 'customer_account'),
    "credit_note_line_item": ('amount', 'description', 'discount_amount', 'discount_amounts', 'id', 'invoice_line_item', 'livemode', 'object', 'quantity', 'tax_rates', 'type', 'unit_amount', 'unit_amount_decimal', 'pretax_credit_amounts', 'taxes', 'metadata'),
    "invoice_payment": ('amount_paid', 'amount_requested', 'created', 'currency', 'id', 'invoice', 'is_default', 'livemode', 'object', 'payment', 'status', 'status_transitions'),
    "product": ('active', 'created', 'default_price', 'description', 'id', 'images', 'livemode', 'marketing_features', 'metadata', 'name', 'object', 'package_dimensions', 'shippable', 'statement_descriptor', 'tax_code', 'unit_label', 'updated', 'url', 'type'),
    "price": ('active', 'billing_scheme', 'created', 'currency', 'custom_unit_amount', 'id', 'livemode', 'lookup_key', 'metadata', 'nickname', 'object', 'product', 'recurring', 'tax_behavior', 'tiers_mode', 'transform_quantity', 'type', 'unit_amount', 'unit_amount_decimal'),
    "tax_rate": ('active', 'country', 'created', 'description', 'display_name', 'effective_percentage', 'id', 'inclusive', 'jurisdiction', 'jurisdiction_level', 'livemode', 'metadata', 'object', 'percentage', 'state', 'tax_type', 'flat_amount', 'rate_type'),
    "transfer": ('amount', 'amount_reversed', 'balance_transaction', 'created', 'currency', 'description', 'destination', 'destination_payment', 'id', 'livemode', 'metadata', 'object', 'reversals', 'reversed', 'source_transaction', 'source_type', 'transfer_group'),
    "tax.transaction": ('created', 'currency', 'customer', 'customer_details', 'id', 'line_items', 'livemode', 'metadata', 'object', 'posted_at', 'reference', 'reversal', 'ship_from_details', 'shipping_cost', 'tax_date', 'type'),
    "tax.transaction_line_item": ('amount', 'amount_tax', 'id', 'livemode', 'metadata', 'object', 'product', 'quantity', 'reference', 'reversal', 'tax_behavior', 'tax_code', 'type'),
}


def shaped(kind: str, **values: Any) -> dict[str, Any]:
    """An object of `kind` with exactly the fixture's keys, in its order; unknown keys are a bug."""
    unknown = set(values) - set(FIXTURE_KEYS[kind])
    if unknown:
        raise KeyError(f"{kind} has no keys {sorted(unknown)} in Stripe's fixtures")
    return {key: values.get(key) for key in FIXTURE_KEYS[kind]}


def listed(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """An embedded list (an invoice's lines, a charge's refunds): whole, `has_more` false."""
    return {"data": data, "has_more": False, "object": "list", "url": url}


def address(line1: str | None = None, city: str | None = None, postal_code: str | None = None, state: str | None = None,
            country: str | None = None) -> dict[str, Any]:
    return {"city": city, "country": country, "line1": line1, "line2": None, "postal_code": postal_code, "state": state}


def card_details(brand: str, country: str, funding: str, last4: str) -> dict[str, Any]:
    """`payment_method_details` of a card payment: what the ledger reads (brand, country, funding), the rest null."""
    card = {key: None for key in (
        "amount_authorized", "brand", "checks", "country", "exp_month", "exp_year", "extended_authorization", "fingerprint", "funding",
        "incremental_authorization", "installments", "last4", "mandate", "multicapture", "network", "network_token", "overcapture",
        "three_d_secure", "wallet", "authorization_code", "regulated_status", "network_transaction_id", "transaction_link_id",
    )}
    card.update(brand=brand, country=country, funding=funding, last4=last4, network=brand, exp_month=12, exp_year=2030)
    return {"card": card, "type": "card"}


def outcome() -> dict[str, Any]:
    return {"advice_code": None, "network_advice_code": None, "network_decline_code": None, "network_status": "approved_by_network",
            "reason": None, "seller_message": "Payment complete.", "type": "authorized"}


def tax_amount(amount: int, taxable_amount: int, tax_rate: str, taxability_reason: str) -> dict[str, Any]:
    """One entry of a line's `taxes` (and an invoice's or credit note's `total_taxes`)."""
    return {"amount": amount, "tax_behavior": "exclusive", "tax_rate_details": {"tax_rate": tax_rate},
            "taxability_reason": taxability_reason, "taxable_amount": taxable_amount, "type": "tax_rate_details"}
