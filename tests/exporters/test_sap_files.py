import csv

from lxml import etree

from exporters import sap_soap, sap_template, xlsx
from exporters.journal import CurrencyTotals, net_by_currency_and_account
from exporters.sap import SapOptions, document_reference_id, sap_entries
from sandbox.sap_server import SCHEMA, SFIN, SOAP_ENV
from tests.exporters.lines import JPY, KWD, USD, long_entry

OPTIONS = SapOptions(company_code="1010")
ACCOUNTS = {"000010100": "1010"}
LEDGER_TOTALS = {"jpy": CurrencyTotals(100_000, 100_000), "kwd": CurrencyTotals(12_346, 12_346), "usd": CurrencyTotals(100_101, 100_101)}


def data_rows(rows, block):
    """The data rows of one kind of block (`Header` or `Line Items`) in a parsed template."""
    found, current, skip = [], None, 0
    for row in rows:
        cells = [cell for cell in row]
        if cells and cells[0] in ("Header", "Line Items") and all(cell in ("", None) for cell in cells[1:]):
            current, skip = cells[0], 2
            continue
        if skip:
            skip -= 1
            continue
        if current == block:
            found.append(cells)
    return found


def test_comma_csv_has_exact_amounts_per_currency(tmp_path):
    exported = sap_template.write_csv(JPY + KWD + USD, tmp_path / "t.csv", OPTIONS)
    assert exported.totals == LEDGER_TOTALS
    with exported.path.open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[:3] == [["Header"], ["Journal", *sap_template.HEADER_FIELDS], ["Journal", *sap_template.HEADER_LABELS]]
    headers = data_rows(rows, "Header")
    assert [(row[0], row[1], row[2], row[3], row[7]) for row in headers] == [
        ("1", "1010", "SA", "03/10/2026", "JPY"), ("2", "1010", "SA", "03/10/2026", "KWD"), ("3", "1010", "SA", "03/10/2026", "USD"),
    ]
    assert all(len(row[9]) == 16 for row in headers)
    items = data_rows(rows, "Line Items")
    assert [row[4:6] for row in items] == [
        ["98765", ""], ["", "100000"], ["1235", ""],
        ["12.345", ""], ["", "12.346"], ["0.001", ""],
        ["1000.01", ""], ["", "1001.01"], ["1.00", ""],
    ]
    assert items[0][:4] == ["1", "1010", "0000101000", "Stripe Clearing"]


def test_semicolon_csv_writes_a_decimal_comma(tmp_path):
    exported = sap_template.write_csv(KWD + USD, tmp_path / "t.csv", OPTIONS, sap_template.SEMICOLON)
    with exported.path.open(newline="") as stream:
        items = data_rows(list(csv.reader(stream, delimiter=";")), "Line Items")
    assert [row[4] or row[5] for row in items] == ["12,345", "12,346", "0,001", "1000,01", "1001,01", "1,00"]


def test_xlsx_parses_back_to_the_ledger_and_is_byte_identical(tmp_path):
    first = sap_template.write_xlsx(JPY + KWD + USD, tmp_path / "a.xlsx", OPTIONS)
    second = sap_template.write_xlsx(JPY + KWD + USD, tmp_path / "b.xlsx", OPTIONS)
    assert first.totals == LEDGER_TOTALS
    assert first.path.read_bytes() == second.path.read_bytes()
    items = data_rows(xlsx.read_rows(first.path, sap_template.SHEET), "Line Items")
    assert [xlsx.cell_decimal(row[4] or row[5]) for row in items][3:6] == [
        xlsx.cell_decimal("12.345"), xlsx.cell_decimal("12.346"), xlsx.cell_decimal("0.001"),
    ]


def test_journals_above_999_lines_split_into_balanced_parts(tmp_path):
    lines = long_entry(1_500)
    exported = sap_template.write_csv(lines, tmp_path / "t.csv", OPTIONS)
    with exported.path.open(newline="") as stream:
        rows = list(csv.reader(stream))
    journals: dict[str, list[int]] = {}
    for row in data_rows(rows, "Line Items"):
        journals.setdefault(row[0], []).append(sap_template.parse_major(row[4] or "0", "usd") - sap_template.parse_major(row[5] or "0", "usd"))
    assert {journal: len(amounts) for journal, amounts in journals.items()} == {"1": 999, "2": 502}
    assert {journal: sum(amounts) for journal, amounts in journals.items()} == {"1": 0, "2": 0}


def test_document_reference_ids_are_16_characters_deterministic_and_distinct():
    entries = sap_entries(long_entry(2_000) + USD + JPY, OPTIONS)
    references = [document_reference_id(entry) for entry in entries]
    assert all(len(reference) == 16 for reference in references)
    assert len(set(references)) == len(references) == 5
    assert references[0].startswith("261004USD") and references == [document_reference_id(entry) for entry in sap_entries(long_entry(2_000) + USD + JPY, OPTIONS)]


def test_soap_xml_signs_amounts_with_s_and_h_and_matches_the_documented_schema(tmp_path):
    exported = sap_soap.write_xml(JPY + KWD + USD, tmp_path / "je.xml", OPTIONS)
    assert exported.totals == LEDGER_TOTALS
    root = etree.parse(str(exported.path)).getroot()
    request = root.find(f"{{{SOAP_ENV}}}Body/{{{SFIN}}}JournalEntryBulkCreateRequest")
    assert SCHEMA.validate(etree.ElementTree(etree.fromstring(etree.tostring(request)))), SCHEMA.error_log
    items = [(item.findtext("AmountInTransactionCurrency"), item.find("AmountInTransactionCurrency").get("currencyCode"), item.findtext("DebitCreditCode")) for item in request.iter("Item")]
    assert items == [
        ("98765", "JPY", "S"), ("-100000", "JPY", "H"), ("1235", "JPY", "S"),
        ("12.345", "KWD", "S"), ("-12.346", "KWD", "H"), ("0.001", "KWD", "S"),
        ("1000.01", "USD", "S"), ("-1001.01", "USD", "H"), ("1.00", "USD", "S"),
    ]
    assert {journal.findtext("CompanyCode") for journal in request.iter("JournalEntry")} == {"1010"}
    parsed = sap_soap.read_lines(exported.path.read_bytes(), {line.sap_gl_account: line.account_code for line in JPY + KWD + USD})
    assert net_by_currency_and_account(parsed) == net_by_currency_and_account(JPY + KWD + USD)
    assert sap_soap.write_xml(JPY + KWD + USD, tmp_path / "again.xml", OPTIONS).path.read_bytes() == exported.path.read_bytes()
