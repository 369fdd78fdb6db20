"""Shared fixtures: a small deterministic sandbox world and the sandbox Stripe API serving it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.merchant import World, WorldSpec, simulate
from sandbox.stripe_api import SandboxStripeServer

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
STRIPE_FIXTURES = SAMPLES / "stripe" / "openapi_fixtures3.json"
API_KEY = "sk_test_stripe_close_tests"
# Small, but every special case (partial capture, dispute and its reversal, the failed payout,
# the late and the combined deposit) happens, in three currencies including JPY.
SMALL_WORLD = WorldSpec(seed=11, days=12, transactions_per_day=30)
# The same, plus a manual and an instant payout, which Stripe cannot itemize.
PAYOUTS_BY_HAND_WORLD = WorldSpec(seed=11, days=12, transactions_per_day=30, manual_and_instant_payouts=True)


@pytest.fixture(scope="session")
def stripe_fixtures() -> dict:
    return json.loads(STRIPE_FIXTURES.read_text())["resources"]


@pytest.fixture(scope="session")
def small_world() -> World:
    return simulate(SMALL_WORLD)


@pytest.fixture(scope="session")
def payouts_by_hand_world() -> World:
    return simulate(PAYOUTS_BY_HAND_WORLD)


@pytest.fixture
def stripe_server(small_world: World) -> Iterator[SandboxStripeServer]:
    with SandboxStripeServer(small_world, API_KEY) as server:
        yield server
