"""The warehouse tables bank statement files land in (schema `raw`, beside the Stripe tables).

`bank_statement_lines` keeps the lines of every loaded file version; `bank_statement_files` is
the register of file versions: each distinct file content once, loaded (with its version number
under its name) or quarantined (with the parser's line and reason). Staging picks the current
version of each file name, so a corrected file replaces the lines of the one it corrects
without anything being deleted.
"""

from __future__ import annotations

BANK_RAW_TABLES: dict[str, str] = {
    "bank_statement_lines": """
        bank_statement_line_id varchar primary key,
        bank_account_id varchar not null,
        booking_date date not null,
        value_date date,
        amount_minor bigint not null,
        currency varchar not null,
        direction varchar not null,
        entry_status varchar not null,
        bank_reference varchar,
        customer_reference varchar,
        transaction_code varchar,
        text varchar not null,
        file_name varchar not null,
        file_position integer not null,
        file_line integer not null,
        file_sha256 varchar not null,
        _loaded_at timestamp not null
    """,
    "bank_statement_files": """
        file_sha256 varchar primary key,
        file_name varchar not null,
        source_uri varchar not null,
        format varchar,
        version integer,
        status varchar not null,
        line_count integer not null,
        error_line integer,
        error_reason varchar,
        warnings varchar[] not null,
        _loaded_at timestamp not null
    """,
}
