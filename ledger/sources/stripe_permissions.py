"""What a Stripe key must be allowed to read, and what to tell the user when Stripe refuses it.

Ingestion reads four endpoints. A restricted key (`rk_...`) needs Read on the resources below
(docs.stripe.com/keys/permissions-reference); for connected accounts (STRIPE_ACCOUNT_IDS) the same
resources in the key's Connect permissions column. `GET /v1/account` is optional: it only tells
the key's own account id, which STRIPE_ACCOUNT_ID can give instead.

When Stripe refuses, the message is one line that names the endpoint and the permission. Stripe's
403 body names the `rak_...` permission that would allow the request; it is used when present,
else the table's. Stripe's own message is never repeated: it quotes the key (masked, but still).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Permission:
    code: str  # as Stripe's 403 names it
    resource: str | None = None  # as the Dashboard's restricted-key form names it, when known here

    def __str__(self) -> str:
        return f'"{self.resource}: Read" ({self.code})' if self.resource else self.code


BALANCE = Permission("rak_balance_read", "Balance")
PAYOUTS = Permission("rak_payout_read", "Payouts")
ACCOUNTS = Permission("rak_connected_account_read", "Connect > Accounts")
CHARGES = Permission("rak_charge_read", "Charges and Refunds")
DISPUTES = Permission("rak_dispute_read", "Disputes")
INVOICES = Permission("rak_invoice_read", "Invoices")
CREDIT_NOTES = Permission("rak_credit_note_read", "Credit notes")
PRODUCTS = Permission("rak_product_read", "Products")
PRICES = Permission("rak_plan_read", "Prices")
TAX_RATES = Permission("rak_tax_rate_read", "Tax rates")
TAX_TRANSACTIONS = Permission("rak_tax_transaction_read", "Tax transactions")
TRANSFERS = Permission("rak_transfer_read", "Transfers")

# Endpoint -> permission, in the order a run reads them; `required` says whether ingestion needs it.
ENDPOINTS: dict[str, tuple[Permission, bool]] = {
    "/v1/account": (ACCOUNTS, False),
    "/v1/balance": (BALANCE, True),
    "/v1/payouts": (PAYOUTS, True),
    "/v1/balance_transactions": (BALANCE, True),
    # Source objects (STRIPE_SOURCE_OBJECTS, on by default): needed only for the revenue detail.
    "/v1/charges": (CHARGES, False),
    "/v1/refunds": (CHARGES, False),
    "/v1/disputes": (DISPUTES, False),
    "/v1/invoices": (INVOICES, False),
    "/v1/invoice_payments": (INVOICES, False),
    "/v1/credit_notes": (CREDIT_NOTES, False),
    "/v1/products": (PRODUCTS, False),
    "/v1/prices": (PRICES, False),
    "/v1/tax_rates": (TAX_RATES, False),
    "/v1/transfers": (TRANSFERS, False),
    # /v1/tax/transactions/{id}: Stripe's permissions and limits go by the first two segments.
    "/v1/tax": (TAX_TRANSACTIONS, False),
}
_BY_CODE = {permission.code: permission for permission, _ in ENDPOINTS.values()}
_NAMED_PERMISSION = re.compile(r"'(rak_[a-z0-9_]+)'")


def endpoint_of(path: str) -> str:
    """`/v1/payouts/po_123` -> `/v1/payouts`: the unit of Stripe's permissions and endpoint limits."""
    return "/" + "/".join(path.strip("/").split("/")[:2])


def permission_for(path: str, error_body: Any) -> Permission | None:
    """The permission Stripe named in its refusal, else the one this table gives the endpoint."""
    message = _error(error_body).get("message") or ""
    named = _NAMED_PERMISSION.search(message)
    if named:
        return _BY_CODE.get(named.group(1), Permission(named.group(1)))
    known = ENDPOINTS.get(endpoint_of(path))
    return known[0] if known else None


def refusal(path: str, status: int, error_body: Any, stripe_account: str | None) -> str:
    """One line for a 401 or 403 from Stripe on `GET path`, without the key."""
    request = f"GET {path}" + (f" for account {stripe_account}" if stripe_account else "")
    if status == 401:
        return f"Stripe refused the API key on {request} (HTTP 401): it is wrong, expired or revoked; check STRIPE_API_KEY"
    if _error(error_body).get("code") == "account_invalid":
        return (f"Stripe refused {request} (HTTP 403): the key has no access to that account (not connected to this platform, "
                f"or its access was revoked); check STRIPE_ACCOUNT_IDS")
    permission = permission_for(path, error_body)
    lacking = f"the permission {permission}" if permission else "a permission for this endpoint"
    return (f"Stripe refused {request} (HTTP 403): the API key lacks {lacking}; give it to the restricted key "
            f"(docs/ingestion.md lists every permission stripe-close needs)")


def _error(error_body: Any) -> dict[str, Any]:
    error = error_body.get("error") if isinstance(error_body, dict) else None
    return error if isinstance(error, dict) else {}
