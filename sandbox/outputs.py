"""The files a sandbox world leaves beside the Stripe API: bank statements and the ground truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sandbox.bank_deposits import bank_statements, plan_deposits
from sandbox.bank_statements import write_bai2, write_camt053
from sandbox.ground_truth import GroundTruth, ground_truth
from sandbox.merchant import World


@dataclass(frozen=True)
class SandboxFiles:
    bai2: Path
    camt053: Path
    ground_truth: Path
    truth: GroundTruth


def write_sandbox_files(world: World, directory: Path) -> SandboxFiles:
    # The statements get a folder of their own: it is the bank inbox the demo's close loads.
    bank_folder = directory / "bank"
    bank_folder.mkdir(parents=True, exist_ok=True)
    deposits = plan_deposits(world)
    statements = bank_statements(world, deposits)
    # The statement is created the morning after the world's last day: deterministic, like the rest.
    created_at = datetime.fromtimestamp(world.as_of, tz=timezone.utc).replace(hour=6)
    bai2 = write_bai2(statements, bank_folder / "bank_statement.bai2", sender_id="121000248", receiver_id="ACMEROBOT", file_id="1", created_at=created_at)
    camt = write_camt053(statements, bank_folder / "bank_statement.camt053.xml", message_id=f"SANDBOX-{world.spec.seed}", created_at=created_at)
    truth = ground_truth(world, deposits)
    truth_path = directory / "ground_truth.json"
    truth_path.write_text(json.dumps(truth.to_json_dict(), indent=2, sort_keys=True) + "\n")
    return SandboxFiles(bai2=bai2, camt053=camt, ground_truth=truth_path, truth=truth)
