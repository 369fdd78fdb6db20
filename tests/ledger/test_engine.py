"""CLOSE_ENGINE picks the engine dbt builds on; a wrong value is one line naming the setting."""

from pathlib import Path

import pytest

from ledger.config import ConfigError
from ledger.engine import close_engine, spark_dir


@pytest.mark.parametrize(("environment", "engine"), [({}, "duckdb"), ({"CLOSE_ENGINE": ""}, "duckdb"), ({"CLOSE_ENGINE": "spark"}, "spark")])
def test_engine_defaults_to_duckdb(environment, engine):
    assert close_engine(environment) == engine


def test_an_unknown_engine_is_refused_naming_the_setting():
    with pytest.raises(ConfigError) as refused:
        close_engine({"CLOSE_ENGINE": "Spark"})
    assert str(refused.value) == "CLOSE_ENGINE='Spark' is not one of duckdb, spark"


def test_spark_folder_is_beside_the_warehouse_unless_set(tmp_path):
    assert spark_dir(tmp_path / "close" / "warehouse.duckdb", {}) == (tmp_path / "close" / "spark").resolve()
    assert spark_dir(tmp_path / "warehouse.duckdb", {"CLOSE_SPARK_DIR": str(tmp_path / "elsewhere")}) == Path(tmp_path / "elsewhere").resolve()
