"""The Dagster code location: everything under `orchestration/defs`, found by folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

import orchestration.defs


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_defs(defs_root=orchestration.defs, project_root=Path(__file__).resolve().parent.parent)
