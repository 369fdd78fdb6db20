"""Run-failure and anomaly alerts as Slack-compatible webhook messages (`{"text": ...}`; Slack, Mattermost, Teams workflows)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

# Anything that looks like a credential is masked before a message leaves the process.
_SECRET_PATTERNS = (
    re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9_]+"),
    re.compile(r"(?i)(authorization|bearer|token|secret|password)([\"'=: ]+)[^\s\"',]+"),
)
TIMEOUT_S = 10


@dataclass(frozen=True)
class FailureAlert:
    run_id: str
    job_name: str
    failed_steps: tuple[str, ...]
    message: str
    run_url: str | None = None

    def payload(self) -> dict[str, str]:
        steps = ", ".join(self.failed_steps) or "the run"
        link = f"\n<{self.run_url}|Open the run in Dagster>" if self.run_url else ""
        text = f":rotating_light: stripe-close: {self.job_name} failed at {steps} (run {self.run_id}).\n{self.message}{link}"
        return {"text": mask_secrets(text)}


@dataclass(frozen=True)
class AnomalyAlert:
    """The day's new anomaly flags, all in one message (a day with twenty flags is one message, not twenty)."""

    day: str
    flags: tuple[str, ...]  # one line per flag: "<entity>: <explanation>"
    run_url: str | None = None

    def payload(self) -> dict[str, str]:
        link = f"\n<{self.run_url}|Open the anomaly watch in Dagster>" if self.run_url else ""
        count = f"{len(self.flags)} new anomal{'y' if len(self.flags) == 1 else 'ies'}"
        lines = "\n".join(f"- {flag}" for flag in self.flags)
        return {"text": mask_secrets(f":mag: stripe-close: {count} on {self.day}\n{lines}{link}")}


def mask_secrets(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}_{m.group(2)}_****", text)
    return _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}****", text)


def send(webhook_url: str, alert: FailureAlert | AnomalyAlert) -> None:
    """POST the alert; a webhook that refuses it raises with the status code (never the URL, which is a secret)."""
    try:
        response = requests.post(webhook_url, json=alert.payload(), timeout=TIMEOUT_S)
    except requests.RequestException as error:
        # requests puts the URL in its messages, and a webhook URL carries its token.
        raise RuntimeError(f"the alert webhook could not be reached ({type(error).__name__})") from None
    if response.status_code >= 300:
        raise RuntimeError(f"the alert webhook answered HTTP {response.status_code}")
