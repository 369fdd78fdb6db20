"""What a failed Dagster step says to a person: its own words, not Dagster's wrapping of them."""

from __future__ import annotations

import dagster as dg


def step_failure_message(event: dg.DagsterEvent) -> str:
    """A `dg.Failure`'s description (a refusal the step phrased itself), else the root exception's message."""
    failure = event.event_specific_data
    if failure.user_failure_data is not None and failure.user_failure_data.description:
        return failure.user_failure_data.description.strip()
    # Dagster wraps the exception ('Error occurred while executing op ...'); the cause is what happened.
    error = failure.error
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
