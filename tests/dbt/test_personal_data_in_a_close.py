"""Personal data stays out of a whole close: every table of the warehouse and every file the close
wrote (journals, manifests, the close package: XLSX opened, HTML read) holds none of the
simulator's customer names, e-mails, phones or street lines, while the customer ids are there."""

import zipfile

import duckdb

from sandbox.sales import sales


def warehouse_text(path) -> str:
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()").fetchall()
        return "\n".join(str(row) for schema, table in tables for row in connection.execute(f'select * from "{schema}"."{table}"').fetchall())


def file_text(path) -> str:
    if zipfile.is_zipfile(path):  # XLSX: the sheets and shared strings are XML inside the zip
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return path.read_bytes().decode("utf-8", "replace")


def test_no_personal_data_in_the_warehouse_or_any_export_file_of_a_close(closed_small_world, small_world):
    personal = sales(small_world).personal_values()
    assert len(personal) == 160
    stored = warehouse_text(closed_small_world.settings.warehouse)
    assert "cus_" in stored  # customer ids stay: the source objects were landed
    assert [value for value in personal if value in stored] == []
    # The warehouse scan reads views too: the payout reconciliation's charge columns are in it, and
    # the Stripe Tax transactions, whose customer address Stripe gives in full.
    with duckdb.connect(str(closed_small_world.settings.warehouse), read_only=True) as connection:
        [(itemized, customers)] = connection.execute(
            "select count(charge_id), count(distinct customer_id) from main.rpt_payout_reconciliation").fetchall()
        [(taxed,)] = connection.execute("select count(*) from main.int_charge_stripe_taxes").fetchall()
    assert itemized > 0 and customers > 1
    assert taxed == len([t for t in sales(small_world).tax_transactions if t["type"] == "transaction"]) > 0
    files = [path for path in closed_small_world.settings.export_dir.rglob("*") if path.is_file()]
    assert files
    for path in files:
        text = file_text(path)
        assert [value for value in personal if value in text] == [], path
