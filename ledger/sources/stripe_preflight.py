"""One request before a close or an ingestion starts: is the Stripe API there, and does it take the key?

Without it, a closed port or a mistyped key surfaces minutes later, after every retry, as a failed
Dagster step. Here it is one sentence naming the URL and the cause. The key itself never appears
in the message (Stripe's own error text echoes part of it, so it is not passed on).
"""

from __future__ import annotations

import re

import stripe

from ledger.sources.stripe_api import StripeApiSettings

# requests/urllib3 bury the operating system's reason ("[Errno 111] Connection refused") in their text.
_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^\"')]+)")


class StripeUnavailable(RuntimeError):
    """The Stripe API cannot be used with these settings: unreachable, or the key is refused."""


def check_stripe_api(settings: StripeApiSettings) -> None:
    """Retrieve the key's own account once; raise StripeUnavailable saying why that failed."""
    if not settings.api_key:
        raise StripeUnavailable("STRIPE_API_KEY is not set (a restricted, read-only key is enough)")
    client = stripe.StripeClient(
        settings.api_key, base_addresses={"api": settings.api_base},
        http_client=stripe.RequestsClient(timeout=settings.request_timeout_s), max_network_retries=1,
    )
    try:
        client.v1.accounts.retrieve_current()
    except stripe.AuthenticationError as error:
        raise StripeUnavailable(f"the Stripe API at {settings.api_base} refused STRIPE_API_KEY (HTTP {error.http_status}): "
                                "set a valid secret or restricted key") from None
    except stripe.PermissionError as error:
        raise StripeUnavailable(f"the Stripe API at {settings.api_base} refused STRIPE_API_KEY access to /v1/account "
                                f"(HTTP {error.http_status}): give the restricted key read access to it") from None
    except stripe.APIConnectionError as error:
        raise StripeUnavailable(f"the Stripe API at {settings.api_base} is unreachable: {connection_failure(error)}") from None
    except stripe.StripeError:
        # Rate limits and server errors pass: they are transient, and the run's own retries handle them.
        return


def connection_failure(error: stripe.APIConnectionError) -> str:
    """The operating system's reason for a failed connection ("Connection refused"), else the error's kind."""
    reason = _OS_REASON.search(str(error))
    if reason:
        return reason.group(1).strip()
    cause = error.__cause__ or error
    return "timed out" if "timeout" in type(cause).__name__.lower() else type(cause).__name__
