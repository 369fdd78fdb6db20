"""`stripe-close backfill --from YYYY-MM --to YYYY-MM`: close whole months again, as Dagster runs.

Two runs on the configured instance ($DAGSTER_HOME, so they show in the UI next to the scheduled
ones): `ledger_close_job` over every accounting day of the months (ingestion, the ledger, every
proof), then, only when it succeeded, `period_export_job` over the months. Each is one run over
its partition range, as a backfill launched from the UI runs these single-run-policy assets. The
runs execute in this process; the instance's queue does not hold them, so do not backfill while
the daemon runs a close on the same warehouse (see docs/operations.md).
Exit codes: 0 done, 1 a run failed (its failing steps are printed), 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import os

from ledger.config import CloseSettings
from orchestration import run_log
from orchestration.cli_args import add_command, period
from orchestration.cli_guards import require_bank_inbox, require_stripe_api
from orchestration.step_failures import step_failure_message
from orchestration.wording import counted

BACKFILL_TAG = "close/backfill"


def register(subcommands: argparse._SubParsersAction) -> None:
    backfill = add_command(subcommands, "backfill", "re-run the close of whole months: the ledger of their days, then their exports",
                           "stripe-close backfill --from 2026-09 --to 2026-10")
    backfill.add_argument("--from", dest="first", type=period, required=True, help="the first month, YYYY-MM")
    backfill.add_argument("--to", dest="last", type=period, required=True, help="the last month, YYYY-MM (inclusive)")
    backfill.set_defaults(handler=_backfill)


def _backfill(args: argparse.Namespace) -> int:
    from ledger.warehouse_lock import claim_warehouse
    from orchestration.close_run import prepare_instance
    from orchestration.dead_runs import process_tags
    from orchestration.instance import persistent_instance
    from orchestration.partition_runs import days_of, month_range, range_tags

    months = month_range(args.first, args.last)
    days = days_of(months)
    settings = CloseSettings.from_env()
    require_stripe_api(settings)
    require_bank_inbox(settings.bank_inbox, "CLOSE_BANK_INBOX")
    # dbt runs as a subprocess and reads the settings from the environment.
    os.environ.update(settings.process_environment())
    from orchestration.definitions import defs

    definitions, instance = defs(), persistent_instance()
    label = f"{months.start}..{months.end}"
    with claim_warehouse(settings.warehouse):
        prepare_instance(instance)
        for job_name, keys in (("ledger_close_job", days), ("period_export_job", months)):
            job = definitions.resolve_job_def(job_name)
            with run_log.captured():
                result = job.execute_in_process(
                    instance=instance, tags={**range_tags(keys), **process_tags(), BACKFILL_TAG: label}, raise_on_error=False,
                )
            _print_run(job_name, keys, result)
            if not result.success:
                return 1
    return 0


def _print_run(job_name: str, keys, result) -> None:
    import dagster as dg

    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    checks = result.get_asset_check_evaluations()
    status = "succeeded" if result.success else "FAILED"
    print(f"{job_name} {keys.start}..{keys.end}: run {result.run_id} {status}; "
          f"{counted(len(materialized), 'asset')} materialized, {sum(c.passed for c in checks):,} of {counted(len(checks), 'check')} passed")
    for check in checks:
        if not check.passed:
            # A warning (e.g. every_entry_exported: exported with exceptions) blocks nothing, unlike a failed proof.
            kind = "warning" if check.severity == dg.AssetCheckSeverity.WARN else "failed"
            print(f"  check {kind}: {check.asset_key.to_user_string()}:{check.check_name}")
    for event in result.all_events:
        if event.is_step_failure:
            print(f"  step failed: {event.step_key}: {step_failure_message(event)}")
    # A range run records each asset once per partition, with the files of the whole range.
    files: dict[str, set[str]] = {}
    for event in result.get_asset_materialization_events():
        listed = event.materialization.metadata.get("files")
        files.setdefault(event.asset_key.to_user_string(), set()).update(listed.value if listed else [])
    for asset, paths in sorted(files.items()):
        for path in sorted(paths):
            print(f"  {asset}: {path}")
