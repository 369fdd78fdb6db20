"""Matching 3,000 generated payouts with every kind of noise: no false match, 99% of what can match."""

from __future__ import annotations

from pathlib import Path

from orchestration.bench_match import dbt_build_bank_models, land_bulk_world, score
from sandbox.bank_bulk import generate


def test_no_false_match_and_at_least_99_percent_recall(tmp_path: Path) -> None:
    world = generate(3_000, seed=3)
    warehouse_file = tmp_path / "warehouse.duckdb"
    land_bulk_world(world, warehouse_file)

    result = dbt_build_bank_models(warehouse_file)

    assert result.returncode == 0, result.stdout + result.stderr
    quality = score(warehouse_file)
    assert quality.false_matches == 0
    assert quality.matched_pairs > 2_900
    assert quality.recall >= 0.99, quality
    assert quality.returns_paired == quality.returns_expected > 0
