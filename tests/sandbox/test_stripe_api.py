"""The sandbox Stripe API, driven by the real stripe SDK over HTTP."""

from collections import defaultdict
from decimal import Decimal

import pytest
import requests
import stripe

from sandbox.stripe_api import SandboxStripeServer, ServerBehaviour
from tests.conftest import API_KEY


def client(server, key=API_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url})


def assert_same_shape(sample: dict, served: dict, path: str = "") -> None:
    """Same keys as Stripe's example object, and the same JSON types wherever the example has a value."""
    assert set(served) == set(sample), f"{path}: keys differ by {set(served) ^ set(sample)}"
    for key, example in sample.items():
        value = served[key]
        if example is None or value is None:
            continue
        if isinstance(example, dict) and key != "metadata":
            assert isinstance(value, dict), f"{path}.{key}"
            if key != "trace_id" or value:
                assert_same_shape(example, value, f"{path}.{key}")
        elif isinstance(value, Decimal) and isinstance(example, str):
            continue  # stripe-python 15+ reads decimal strings as Decimal
        elif {type(value), type(example)} == {int, float}:
            continue  # one JSON number type: a percentage of 19 or 8.875
        else:
            assert type(value) is type(example), f"{path}.{key}: {type(value).__name__} vs {type(example).__name__}"


def test_balance_transactions_have_exactly_the_fixture_keys(stripe_server, stripe_fixtures):
    page = client(stripe_server).v1.balance_transactions.list(params={"limit": 100})
    fee_detail_keys = {"amount", "application", "currency", "description", "type"}
    for transaction in page.data:
        assert_same_shape(stripe_fixtures["balance_transaction"], transaction.to_dict(), transaction.id)
        for detail in transaction.to_dict()["fee_details"]:
            assert set(detail) == fee_detail_keys


def test_payouts_and_balance_have_exactly_the_fixture_keys(stripe_server, stripe_fixtures):
    payouts = client(stripe_server).v1.payouts.list(params={"limit": 100}).data
    assert payouts
    for payout in payouts:
        assert_same_shape(stripe_fixtures["payout"], payout.to_dict(), payout.id)
    balance = client(stripe_server).v1.balance.retrieve().to_dict()
    assert set(balance) == set(stripe_fixtures["balance"])
    for entry in balance["available"]:
        assert set(entry) == set(stripe_fixtures["balance"]["available"][0])


def test_the_sdk_pages_through_every_transaction_newest_first(stripe_server, small_world):
    seen = []
    page = client(stripe_server).v1.balance_transactions.list(params={"limit": 100})
    pages = 0
    while True:
        pages += 1
        seen.extend(page.data)
        if not page.has_more:
            break
        page = page.next_page()
    assert pages >= 3
    assert [t.id for t in seen] == small_world.balance_transactions.column("id").to_pylist()
    assert len({t.id for t in seen}) == small_world.balance_transactions.num_rows


def test_auto_paging_with_filters(stripe_server, small_world):
    start = small_world.spec.start_ts + 3 * 86_400
    end = start + 2 * 86_400
    listed = list(client(stripe_server).v1.balance_transactions.list(
        params={"limit": 7, "created": {"gte": start, "lt": end}, "currency": "usd", "type": "charge"}
    ).auto_paging_iter())
    expected = [
        row["id"] for row in small_world.balance_transactions.to_pylist()
        if start <= row["created"] < end and row["currency"] == "usd" and row["type"] == "charge"
    ]
    assert len(expected) > 21  # at least three pages of 7
    assert [t.id for t in listed] == expected


def test_payout_filter_lists_the_payouts_transactions_and_its_own(stripe_server, small_world):
    payout = small_world.payouts.to_pylist()[5]
    listed = list(client(stripe_server).v1.balance_transactions.list(params={"payout": payout["id"], "limit": 100}).auto_paging_iter())
    assert {t.id for t in listed} == {
        row["id"] for row in small_world.balance_transactions.to_pylist() if row["automatic_payout_id"] == payout["id"]
    }
    assert sum(t.net for t in listed if t.type != "payout") == payout["amount"]
    assert [t.type for t in listed].count("payout") == 1


def test_ending_before_walks_towards_newer_objects(stripe_server, small_world):
    ids = small_world.balance_transactions.column("id").to_pylist()
    page = client(stripe_server).v1.balance_transactions.list(params={"limit": 5, "ending_before": ids[20]})
    assert [t.id for t in page.data] == ids[15:20]
    assert page.has_more is True


def test_payout_list_filters_by_status_and_arrival(stripe_server, small_world):
    sdk = client(stripe_server)
    failed = sdk.v1.payouts.list(params={"status": "failed"}).data
    assert [p.id for p in failed] == [p["id"] for p in small_world.payouts.to_pylist() if p["failure_balance_transaction"]]
    assert failed[0].failure_code == "account_closed"
    cutoff = small_world.spec.start_ts + 6 * 86_400
    early = list(sdk.v1.payouts.list(params={"arrival_date": {"lt": cutoff}, "limit": 3}).auto_paging_iter())
    assert early and all(p.arrival_date < cutoff for p in early)
    assert len(early) == sum(1 for p in small_world.payouts.to_pylist() if p["arrival_date"] < cutoff)


def test_the_clock_shows_a_payout_paid_then_failed(stripe_server, small_world):
    failed = next(p for p in small_world.payouts.to_pylist() if p["failure_balance_transaction"])
    sdk = client(stripe_server)
    stripe_server.set_clock(failed["failed_at"] - 1)
    before = sdk.v1.payouts.retrieve(failed["id"])
    assert before.status == "paid" and before.failure_balance_transaction is None
    with pytest.raises(stripe.InvalidRequestError, match="No such balance_transaction"):
        sdk.v1.balance_transactions.retrieve(failed["failure_balance_transaction"])
    stripe_server.set_clock(failed["failed_at"])
    after = sdk.v1.payouts.retrieve(failed["id"])
    assert after.status == "failed"
    assert after.failure_balance_transaction == failed["failure_balance_transaction"]
    assert sdk.v1.balance_transactions.retrieve(failed["failure_balance_transaction"]).type == "payout_failure"


def test_balance_is_the_sum_of_all_nets(stripe_server, small_world):
    balance = client(stripe_server).v1.balance.retrieve()
    for currency in ("usd", "eur", "jpy"):
        total = sum(e.amount for e in balance.available + balance.pending if e.currency == currency)
        assert total == sum(r["net"] for r in small_world.balance_transactions.to_pylist() if r["currency"] == currency)


def test_wrong_or_missing_key_is_refused_with_401(stripe_server):
    with pytest.raises(stripe.AuthenticationError) as wrong:
        client(stripe_server, "sk_test_not_the_right_key").v1.balance.retrieve()
    assert wrong.value.http_status == 401
    assert "Invalid API Key provided" in str(wrong.value)
    assert "not_the_right" not in str(wrong.value), "the key itself must not be echoed"
    response = requests.get(f"{stripe_server.url}/v1/balance_transactions", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.headers["Request-Id"].startswith("req_")


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("limit=101", 400, "Invalid limit"),
        ("limit=0", 400, "Invalid limit"),
        ("starting_after=txn_missing", 400, "No such balance_transaction"),
        ("starting_after=a&ending_before=b", 400, "only specify one"),
        ("created[gte]=yesterday", 400, "Invalid integer"),
        ("payout=po_missing", 404, "No such payout"),
    ],
)
def test_bad_list_requests_get_stripe_errors(stripe_server, query, status, message):
    response = requests.get(f"{stripe_server.url}/v1/balance_transactions?{query}", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def get(server, path, key=API_KEY):
    return requests.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=5)


def test_injected_429_bursts_say_retry_and_5xx_are_stripe_errors(small_world):
    behaviour = ServerBehaviour(failure_rate=0.5, failure_statuses=(429, 503), burst_length=3, seed=1)
    with SandboxStripeServer(small_world, API_KEY, behaviour=behaviour) as server:
        responses = [get(server, "/v1/balance") for _ in range(60)]
    statuses = [response.status_code for response in responses]
    assert {200, 429, 503} <= set(statuses)
    for response in responses:
        if response.status_code == 429:
            assert response.headers["Stripe-Should-Retry"] == "true"
            assert response.json()["error"]["code"] == "lock_timeout"
        elif response.status_code == 503:
            assert response.json()["error"]["type"] == "api_error"
    # Errors come in bursts: every failure run is a multiple of three long, but for the tail.
    runs, current = [], 0
    for status in statuses:
        if status == 200:
            if current:
                runs.append(current)
            current = 0
        else:
            current += 1
    assert runs and all(run % 3 == 0 for run in runs)


def test_the_rate_limit_is_per_key_and_says_why(small_world):
    with SandboxStripeServer(small_world, API_KEY, behaviour=ServerBehaviour(rate_limit_per_second=5)) as server:
        responses = [get(server, "/v1/balance") for _ in range(20)]
        refused = [response for response in responses if response.status_code == 429]
        assert refused and responses[0].status_code == 200
        assert all(r.headers["Stripe-Rate-Limited-Reason"] == "global-rate" for r in refused)
        assert all("Stripe-Should-Retry" not in r.headers for r in refused)
        assert get(server, "/v1/balance", key="sk_test_other_key").status_code == 401


def test_a_rate_below_one_a_second_admits_one_request_and_zero_admits_none(small_world):
    """The bucket holds at least one request: a limit of one request per 1,000 s serves the first and
    refuses the next (with the Retry-After asked for); a spent budget (0) refuses every request."""
    slow = ServerBehaviour(rate_limit_per_second=0.001, rate_limit_retry_after_s=0.5)
    with SandboxStripeServer(small_world, API_KEY, behaviour=slow) as server:
        first, second = get(server, "/v1/balance"), get(server, "/v1/balance")
    assert (first.status_code, second.status_code, second.headers["Retry-After"]) == (200, 429, "0.5")
    assert "Retry-After" not in first.headers
    with SandboxStripeServer(small_world, API_KEY, behaviour=ServerBehaviour(rate_limit_per_second=0)) as server:
        refused = [get(server, "/v1/balance") for _ in range(3)]
    assert [response.status_code for response in refused] == [429, 429, 429]
    assert all(response.headers["Stripe-Rate-Limited-Reason"] == "global-rate" and "Retry-After" not in response.headers for response in refused)


def test_the_endpoint_rate_limit_is_per_endpoint_and_says_why(small_world):
    with SandboxStripeServer(small_world, API_KEY, behaviour=ServerBehaviour(endpoint_rate_limit_per_second=5)) as server:
        listed = [get(server, "/v1/balance_transactions?limit=1") for _ in range(20)]
        retrieved = [get(server, f"/v1/balance_transactions/{small_world.balance_transactions['id'][0]}") for _ in range(2)]
        balance = get(server, "/v1/balance")
    refused = [response for response in listed if response.status_code == 429]
    assert refused and listed[0].status_code == 200
    assert all(r.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate" for r in refused)
    assert all(r.json()["error"]["code"] == "rate_limit" for r in refused)
    # One endpoint: a retrieve by id counts against the list's budget; another endpoint does not.
    assert [r.status_code for r in retrieved] == [429, 429]
    assert balance.status_code == 200


def test_a_refused_endpoint_answers_like_a_restricted_key_without_the_permission(small_world):
    behaviour = ServerBehaviour(refused_endpoints=("/v1/account", "/v1/payouts"))
    with SandboxStripeServer(small_world, API_KEY, behaviour=behaviour) as server:
        account = get(server, "/v1/account")
        payout = get(server, "/v1/payouts/po_anything")
        allowed = get(server, "/v1/balance")
        with pytest.raises(stripe.PermissionError) as error:
            client(server).v1.payouts.list()
    assert (account.status_code, payout.status_code, allowed.status_code) == (403, 403, 200)
    assert account.json()["error"]["type"] == "invalid_request_error"
    assert account.json()["error"]["message"] == (
        "The provided key 'sk_test_****ests' does not have the required permissions for this endpoint on account 'acct_main'. "
        "Having the 'rak_connected_account_read' permission would allow this request to continue."
    )
    assert "'rak_payout_read' permission" in payout.json()["error"]["message"]
    assert error.value.http_status == 403 and API_KEY not in str(error.value)


def test_late_transactions_are_listed_only_after_their_lag(small_world):
    lag = 12 * 3_600
    behaviour = ServerBehaviour(late_share=0.5, late_seconds=lag)
    clock = small_world.spec.start_ts + 4 * 86_400
    with SandboxStripeServer(small_world, API_KEY, clock=clock, behaviour=behaviour) as server:
        sdk = client(server)
        params = {"limit": 100, "created": {"gte": clock - lag, "lte": clock}}
        now_listed = {t.id for t in sdk.v1.balance_transactions.list(params=params).auto_paging_iter()}
        server.set_clock(clock + lag)
        later_listed = {t.id for t in sdk.v1.balance_transactions.list(params=params).auto_paging_iter()}
    recent = {row["id"] for row in small_world.balance_transactions.to_pylist() if clock - lag <= row["created"] <= clock}
    assert now_listed < later_listed == recent
    assert len(recent) - len(now_listed) >= len(recent) // 4


# Resource -> its fixture, and (for a list embedded in it) the fixture of its items.
SOURCE_SHAPES = {
    "charges": ("charge", None), "refunds": ("refund", None), "disputes": ("dispute", None), "invoices": ("invoice", "line_item"),
    "invoice_payments": ("invoice_payment", None), "credit_notes": ("credit_note", "credit_note_line_item"),
    "products": ("product", None), "prices": ("price", None), "tax_rates": ("tax_rate", None),
}


# Optional sub-objects Stripe's API has (stripe-python's classes) and its fixtures leave out: (object key, sub-key) -> what it holds.
FIXTURE_OMITS = {("pricing", "price_details"): {"price", "product"}, ("payment", "payment_intent"): None}


def without_fixture_omissions(item: dict) -> dict:
    """`item` without the sub-keys of FIXTURE_OMITS, each checked for what it holds."""
    item = dict(item)
    for (key, sub_key), holds in FIXTURE_OMITS.items():
        if isinstance(item.get(key), dict) and sub_key in item[key]:
            item[key] = dict(item[key])
            value = item[key].pop(sub_key)
            assert set(value) == holds if holds else isinstance(value, str)
    return item


@pytest.mark.parametrize("resource", SOURCE_SHAPES)
def test_source_objects_have_exactly_the_fixture_keys(stripe_server, stripe_fixtures, resource):
    fixture, line_fixture = SOURCE_SHAPES[resource]
    served = [item.to_dict() for item in getattr(client(stripe_server).v1, resource).list(params={"limit": 100}).auto_paging_iter()]
    assert served
    for item in served:
        assert_same_shape(stripe_fixtures[fixture], without_fixture_omissions(item), item["id"])
        for line in (item["lines"]["data"] if line_fixture else []):
            assert_same_shape(stripe_fixtures[line_fixture], without_fixture_omissions(line), line["id"])


def test_source_lists_page_by_created_window_newest_first(stripe_server, small_world):
    from sandbox.sales import sales

    start = small_world.spec.start_ts + 3 * 86_400
    window = {"gte": start, "lt": start + 2 * 86_400}
    listed = [charge.id for charge in client(stripe_server).v1.charges.list(params={"limit": 7, "created": window}).auto_paging_iter()]
    expected = sorted((c for c in sales(small_world).charges if window["gte"] <= c["created"] < window["lt"]),
                      key=lambda c: (c["created"], c["id"]), reverse=True)
    assert listed == [c["id"] for c in expected] and len(listed) > 7


def test_expanding_sources_puts_each_charge_refund_and_dispute_in_place_of_its_id(stripe_server, small_world):
    from sandbox.sales import sales

    detail = sales(small_world)
    known = {item["id"]: item for item in [*detail.charges, *detail.refunds, *detail.disputes]}
    page = client(stripe_server).v1.balance_transactions.list(params={"limit": 100, "expand": ["data.source"]}).auto_paging_iter()
    kinds = defaultdict(int)
    for transaction in page:
        source = transaction.to_dict()["source"]
        if transaction.type in ("charge", "refund", "adjustment"):
            assert source == known[source["id"]]
        kinds[source["object"] if isinstance(source, dict) else None] += 1
    assert set(kinds) == {"charge", "refund", "dispute", "payout", None}  # None: fees billed without a source


def test_a_charge_is_retrieved_by_id_and_an_unknown_one_is_404(stripe_server, small_world):
    from sandbox.sales import sales

    charge = sales(small_world).charges[0]
    assert client(stripe_server).v1.charges.retrieve(charge["id"]).to_dict() == charge
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client(stripe_server).v1.charges.retrieve("ch_missing")
    assert refused.value.http_status == 404 and "No such charge: 'ch_missing'" in str(refused.value)


def test_tax_transactions_are_retrieved_by_id_and_transfers_listed_with_exactly_the_fixture_keys(stripe_fixtures):
    import dataclasses

    from sandbox.merchant import simulate
    from sandbox.sales import sales
    from tests.conftest import SMALL_WORLD

    world = simulate(dataclasses.replace(SMALL_WORLD, connect_transfers=True))
    detail = sales(world)
    with SandboxStripeServer(world, API_KEY) as server:
        served = [client(server).v1.tax.transactions.retrieve(transaction["id"], params={"expand": ["line_items"]}).to_dict()
                  for transaction in detail.tax_transactions]
        transfers = [transfer.to_dict() for transfer in client(server).v1.transfers.list(params={"limit": 100}).auto_paging_iter()]
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client(server).v1.tax.transactions.retrieve("tax_missing")
    assert served == detail.tax_transactions and served
    for transaction in served:
        assert_same_shape(stripe_fixtures["tax.transaction"], transaction, transaction["id"])
        for line in transaction["line_items"]["data"]:
            assert_same_shape(stripe_fixtures["tax.transaction_line_item"], line, line["id"])
    assert [transfer["id"] for transfer in transfers] == [t["id"] for t in sorted(detail.transfers, key=lambda t: t["created"], reverse=True)]
    assert len(transfers) == 2
    for transfer in transfers:
        assert_same_shape(stripe_fixtures["transfer"], transfer, transfer["id"])
    assert refused.value.http_status == 404



@pytest.fixture
def sales_builds(monkeypatch) -> list[int]:
    """The transaction count of every world whose sales detail is built while the test runs."""
    from sandbox import sales as sales_module

    builds: list[int] = []
    real_build = sales_module._build

    def counted_build(world):
        builds.append(world.balance_transactions.num_rows)
        return real_build(world)

    monkeypatch.setattr(sales_module, "_build", counted_build)
    return builds


def test_workers_asking_at_once_for_expanded_sources_get_them_from_one_build(sales_builds):
    """The bench's hourly ingestion: eight workers' first pages, all `expand[]=data.source`, reach a
    server that has not built its sales detail yet. Each must get the charges in place, and the detail
    be built once: a build per waiting request ran the sandbox out of memory (19 GB for 300,000
    transactions) and past the client's timeout."""
    import threading

    from sandbox.merchant import simulate
    from tests.conftest import SMALL_WORLD

    world = simulate(SMALL_WORLD)
    workers = 8
    all_asking = threading.Barrier(workers)
    pages: list[list[dict]] = []

    def first_page(server) -> None:
        all_asking.wait()
        page = client(server).v1.balance_transactions.list(params={"limit": 100, "type": "charge", "expand": ["data.source"]})
        pages.append([transaction.to_dict() for transaction in page.data])

    with SandboxStripeServer(world, API_KEY) as server:
        threads = [threading.Thread(target=first_page, args=(server,)) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sales_builds == [world.balance_transactions.num_rows]
    assert len(pages) == workers
    for page in pages:
        assert len(page) == 100
        assert all(transaction["source"]["object"] == "charge" and transaction["source"]["amount"] == transaction["amount"] for transaction in page)


def test_sources_built_ahead_are_not_built_again_by_requests(sales_builds):
    """`sandbox serve` builds the sales detail before it gives its address (`--source-objects ahead`):
    requests then find it built."""
    from sandbox.merchant import simulate
    from tests.conftest import SMALL_WORLD

    world = simulate(SMALL_WORLD)
    server = SandboxStripeServer(world, API_KEY)
    server.build_sources()
    assert sales_builds == [world.balance_transactions.num_rows]
    with server:
        charges = client(server).v1.charges.list(params={"limit": 3}).data
        expanded = client(server).v1.balance_transactions.list(params={"limit": 3, "type": "charge", "expand": ["data.source"]}).data
    assert len(charges) == 3 and all(transaction.source.object == "charge" for transaction in expanded)
    assert sales_builds == [world.balance_transactions.num_rows]
