import csv
import json

import boto3
import pytest
import requests

from exporters import generic, manifest, xlsx
from exporters.journal import ExportTotalsError, LineSource
from exporters.manifest import LedgerRun
from exporters.publish import Destination, export_folder, publish
from tests.exporters.conftest import S3_ENVIRONMENT
from tests.exporters.lines import DAY, JPY, KWD, USD

LINES = JPY + KWD + USD


def sources_of(lines):
    """Two balance transactions behind every line, the second one cent (or yen, or fils) each."""
    found = []
    for line in lines:
        for index, amount in enumerate((line.amount_minor - 1, 1)):
            found.append(LineSource(f"{line.external_id}-{line.account_code}", line.external_id, line.account_code, "balance_transaction",
                                    f"txn_{line.currency}_{line.account_code}_{index}", "gross", line.currency, amount, DAY))
    return found


def test_journal_and_drilldown_parse_back_to_the_ledger(tmp_path):
    journal = generic.write_journal_csv(LINES, tmp_path / "journal.csv")
    drilldown = generic.write_drilldown_csv(LINES, sources_of(LINES), tmp_path / "journal_drilldown.csv")
    workbook = generic.write_xlsx(LINES, sources_of(LINES), tmp_path / "journal.xlsx")
    assert journal.totals == workbook.totals and journal.rows == workbook.rows == 9
    assert drilldown.rows == 18
    with journal.path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(row["currency"], row["debit"], row["credit"]) for row in rows][3:6] == [("KWD", "12.345", ""), ("KWD", "", "12.346"), ("KWD", "0.001", "")]
    sheet = xlsx.read_rows(workbook.path, generic.DRILLDOWN_SHEET)
    assert sheet[0] == generic.DRILLDOWN_HEADER
    assert {row[4] for row in sheet[1:]} >= {"txn_jpy_1010_0", "txn_usd_6000_1"}


def test_a_drilldown_that_does_not_add_up_is_refused(tmp_path):
    broken = sources_of(LINES)[:-1]
    with pytest.raises(ExportTotalsError, match=r"'USD 6000': \(99, 100\)"):
        generic.write_drilldown_csv(LINES, broken, tmp_path / "journal_drilldown.csv")
    assert not (tmp_path / "journal_drilldown.csv").exists()


def test_disk_manifest_describes_every_file_and_an_unchanged_re_export_is_byte_identical(tmp_path):
    destination = Destination(directory=tmp_path)

    def export(run_id):
        with export_folder(destination, "main", "2026-10") as folder:
            files = [generic.write_journal_csv(LINES, folder / "journal.csv"), generic.write_xlsx(LINES, sources_of(LINES), folder / "journal.xlsx")]
            publish(destination, "main", "2026-10", files, LedgerRun("f" * 64, run_id))
        return {path.name: path.read_bytes() for path in (tmp_path / "main" / "2026-10").iterdir()}

    first = export("run-1")
    written = json.loads(first["manifest.json"])
    assert written["entity"] == "main" and written["period"] == "2026-10"
    assert [entry["name"] for entry in written["files"]] == ["journal.csv", "journal.xlsx"]
    [csv_entry, _] = written["files"]
    assert csv_entry["rows"] == 9
    assert csv_entry["sha256"] == manifest.sha256(first["journal.csv"])
    assert csv_entry["totals"]["KWD"] == {"debit": "12.346", "credit": "12.346", "debit_minor": 12_346, "credit_minor": 12_346}
    assert csv_entry["totals"]["JPY"]["debit"] == "100000"
    assert csv_entry["ledger_run"] == {"dagster_run_id": "run-1", "fingerprint": "f" * 64}
    assert export("run-2") == first
    assert {path.stat().st_mode & 0o777 for path in (tmp_path / "main" / "2026-10").iterdir()} == {0o644}


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, **S3_ENVIRONMENT}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket="gl-exports")
    return client


def test_s3_publishing_uploads_files_and_manifest_with_working_presigned_links(s3):
    destination = Destination(s3_uri="s3://gl-exports/close")
    with export_folder(destination, "main", "2026-10") as folder:
        files = [generic.write_journal_csv(LINES, folder / "journal.csv")]
        published = publish(destination, "main", "2026-10", files, LedgerRun("a" * 64, "run-9"))
        local_bytes = files[0].path.read_bytes()
    assert [item.location for item in published] == ["s3://gl-exports/close/main/2026-10/journal.csv", "s3://gl-exports/close/main/2026-10/manifest.json"]
    assert requests.get(published[0].download_url, timeout=10).content == local_bytes
    stored = json.loads(s3.get_object(Bucket="gl-exports", Key="close/main/2026-10/manifest.json")["Body"].read())
    assert stored["files"][0]["sha256"] == manifest.sha256(local_bytes)
    assert S3_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"] not in json.dumps(stored) + "".join(item.download_url for item in published)
