"""Where the dbt project lives and which dbt executable runs it (the one beside this Python)."""

from __future__ import annotations

import sys
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


def dbt_executable() -> str:
    """The dbt of this interpreter's environment, so a run never depends on PATH."""
    return str(Path(sys.executable).with_name("dbt"))
