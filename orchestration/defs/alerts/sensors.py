"""Tell a person when a close run fails: a Slack-compatible message to `CLOSE_ALERT_WEBHOOK_URL`.

Running by default when the URL is set, stopped otherwise (there is nowhere to send to).
"""

import os

import dagster as dg

from ledger.alerts import FailureAlert, send
from orchestration.step_failures import step_failure_message

WEBHOOK_VARIABLE = "CLOSE_ALERT_WEBHOOK_URL"
UI_URL_VARIABLE = "CLOSE_DAGSTER_UI_URL"


@dg.run_failure_sensor(
    name="close_failure_alert",
    description="Posts a Slack-compatible message to CLOSE_ALERT_WEBHOOK_URL when any run fails.",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING if os.environ.get(WEBHOOK_VARIABLE) else dg.DefaultSensorStatus.STOPPED,
)
def close_failure_alert(context: dg.RunFailureSensorContext) -> None:
    webhook_url = os.environ.get(WEBHOOK_VARIABLE)
    if not webhook_url:
        context.log.warning(f"{WEBHOOK_VARIABLE} is not set; no alert sent for run {context.dagster_run.run_id}")
        return
    step_failures = context.get_step_failure_events()
    ui_url = os.environ.get(UI_URL_VARIABLE)
    alert = FailureAlert(
        run_id=context.dagster_run.run_id,
        job_name=context.dagster_run.job_name,
        failed_steps=tuple(event.step_key for event in step_failures if event.step_key),
        message=step_failure_message(step_failures[0]) if step_failures else (context.failure_event.message or ""),
        run_url=f"{ui_url.rstrip('/')}/runs/{context.dagster_run.run_id}" if ui_url else None,
    )
    send(webhook_url, alert)
    context.log.info(f"Sent a failure alert for run {alert.run_id}")

