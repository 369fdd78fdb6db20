"""The sensors start as the README says (section "In Dagster"), with no optional setting in the environment."""

import os
import subprocess
import sys

from orchestration.instance import PROJECT_ROOT

PROBE = """
from orchestration.definitions import defs
print(sorted((sensor.name, sensor.default_status.value) for sensor in defs().sensors))
"""


def test_sensor_default_states():
    environment = {key: value for key, value in os.environ.items() if key not in ("CLOSE_SOURCE", "CLOSE_ALERT_WEBHOOK_URL")}
    printed = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=600, check=True)
    assert printed.stdout.strip().splitlines()[-1] == str([
        ("anomaly_watch_after_close", "RUNNING"), ("bank_inbox_sensor", "STOPPED"), ("close_failure_alert", "STOPPED"), ("month_end_export_after_lock", "RUNNING"),
        ("month_end_lock_after_proofs", "RUNNING"), ("stripe_data_pipeline_delivery", "STOPPED"),
    ])
