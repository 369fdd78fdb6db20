"""The run-failure alert, evaluated with Dagster's own sensor test helpers against a local webhook."""


import dagster as dg
import pytest

from orchestration.defs.alerts.sensors import close_failure_alert


@dg.asset
def stripe_balance_check():
    raise RuntimeError("Stripe refused the key sk_live_51Hsecretvalue: check the restricted key's permissions")


def failure_context(instance):
    result = dg.materialize([stripe_balance_check], instance=instance, raise_on_error=False)
    assert not result.success
    return dg.build_run_status_sensor_context(
        sensor_name="close_failure_alert", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


def test_a_failed_run_posts_a_slack_message_without_secrets(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("CLOSE_ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("CLOSE_DAGSTER_UI_URL", "http://dagster.example:3000/")
    with dg.instance_for_test() as instance:
        context = failure_context(instance)
        close_failure_alert(context)
    [message] = received
    assert set(message) == {"text"}
    text = message["text"]
    assert "__ephemeral_asset_job__ failed at stripe_balance_check" in text
    assert context.dagster_run.run_id in text
    assert "Stripe refused the key sk_live_****" in text
    assert "51Hsecretvalue" not in text
    assert f"<http://dagster.example:3000/runs/{context.dagster_run.run_id}|Open the run in Dagster>" in text


def test_without_a_webhook_nothing_is_sent(webhook, monkeypatch):
    _, received = webhook
    monkeypatch.delenv("CLOSE_ALERT_WEBHOOK_URL", raising=False)
    with dg.instance_for_test() as instance:
        close_failure_alert(failure_context(instance))
    assert received == []


def test_a_refusing_webhook_is_an_error_without_the_url(monkeypatch):
    monkeypatch.setenv("CLOSE_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hooks/secret-token")
    with dg.instance_for_test() as instance:
        context = failure_context(instance)
        with pytest.raises(Exception) as error:
            close_failure_alert(context)
    assert "secret-token" not in str(error.value)
