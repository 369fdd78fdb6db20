"""Where the dbt project lives and which dbt executable runs it (the one beside this Python)."""

from __future__ import annotations

import sys
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


def dbt_executable() -> str:
    """The dbt of this interpreter's environment, so a run never depends on PATH, started through
    `stripe-close-dbt` so that it dies with the run that started it (ledger/dbt_child.py)."""
    return str(Path(sys.executable).with_name("stripe-close-dbt"))
