from tests.browser.test_dagster_ui import dagster_ui, page, dismiss_welcome  # noqa
import time

def test_probe(dagster_ui, page):
    base, workdir = dagster_ui
    page.goto(f"{base}/asset-groups")
    dismiss_welcome(page)
    page.get_by_role("button", name="Materialize all").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Latest").click()
    dialog.get_by_role("button", name="Launch backfill").click()
    time.sleep(4)
    page.screenshot(path="/tmp/ui-package-w/probe3.png")
    print("TEXT", page.locator("body").inner_text()[:1500])
    page.goto(f"{base}/runs")
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        page.wait_for_timeout(5000); page.reload()
        body = page.locator("body").inner_text()
        if "Success" in body and ("Started" not in body and "Queued" not in body and "Starting" not in body):
            break
    page.screenshot(path="/tmp/ui-package-w/probe4.png")
    print("RUNS", page.locator("body").inner_text()[:3000])
    print(list((workdir / "exports").rglob("*.html")))
