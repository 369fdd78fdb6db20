"""The embedded Dagster instance: `dagster.yaml` in $DAGSTER_HOME (default `.close/dagster`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from exporters.close_package.status import ProofResults

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


def recorded_proofs() -> ProofResults:
    """The blocking proofs' latest results on this machine's Dagster instance ($DAGSTER_HOME), where
    `stripe-close run` records them; without that instance the package says they were not evaluated."""
    instance = existing_instance()
    if instance is None:
        return ProofResults((), f"not evaluated: no Dagster instance at {configured_home()} holds the close's proof results (run `stripe-close run` first)")
    from orchestration.defs.export.guard import blocking_proof_results

    return blocking_proof_results(instance)
