"""The embedded Dagster instance: `dagster.yaml` in $DAGSTER_HOME (default `.close/dagster`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_CONFIG = PROJECT_ROOT / "dagster.yaml"


def dagster_home() -> Path:
    """Resolve and create $DAGSTER_HOME, with the project's dagster.yaml in it."""
    home = configured_home()
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_CONFIG, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def persistent_instance() -> dg.DagsterInstance:
    dagster_home()
    return dg.DagsterInstance.get()


def configured_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME", ".close/dagster")).resolve()


def existing_instance() -> dg.DagsterInstance | None:
    """The instance a close on this machine recorded its runs in, or None when there is none yet."""
    if not (configured_home() / "dagster.yaml").exists():
        return None
    return persistent_instance()
