"""Plain-language descriptions of dbt's generic tests, for the checks tab: what the test proves and
what to do when it fails. A singular test (tests/*.sql) describes itself in its `meta.description`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Seeds are the accountant's configuration: a failing test there is fixed in the seed file.
_FIX_SEED = "fix the row in dbt_project/seeds/{model}.csv (the check's rows name it), then run the ledger again"
_FIX_MODEL = "the check's rows name the records; run the ledger again, and if it still fails report it with those rows: it is a defect, not data to correct by hand"


def describe_test(test: Mapping[str, Any]) -> str:
    """'Every journal_line_id of fct_journal_lines is unique. When it fails: ...' for a generic test."""
    metadata = test.get("test_metadata") or {}
    arguments = metadata.get("kwargs", {})
    model = (test.get("attached_node") or "").split(".")[-1] or "the model"
    column = arguments.get("column_name") or test.get("column_name") or ""
    proves = {
        "unique": f"Every {column} of {model} appears once: nothing is doubled.",
        "not_null": f"Every row of {model} has {column} filled in.",
        "columns_not_null": f"Every row of {model} has {', '.join(arguments.get('columns', []))}.",
        "not_null_in_list": f"Every element of {column} in {model} has {arguments.get('field', '')} filled in.",
        "accepted_values": f"{column} of {model} is one of: {', '.join(map(str, arguments.get('values', [])))}.",
        "relationships": f"Every {column} of {model} is found in {_ref_name(arguments.get('to', ''))} ({arguments.get('field', '')}).",
        "unique_combination_of_columns": f"Each combination of {', '.join(arguments.get('combination_of_columns', []))} appears once in {model}.",
    }.get(metadata.get("name"), f"dbt test {test.get('name', '')} on {model}.")
    fix = _FIX_SEED.format(model=model) if (test.get("attached_node") or "").startswith("seed.") else _FIX_MODEL
    return f"{proves} When it fails: {fix}."


def _ref_name(to: str) -> str:
    """"ref('gl_accounts')" -> 'gl_accounts'."""
    found = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]", to)
    return found.group(1) if found else to
