"""Which entities' Stripe-clearing balances no Stripe balance snapshot covers, and how to say so.

Ingestion records a snapshot only when its window reaches the moment the balance was read (now), so
a backfill of an earlier month has none: the clearing = Stripe balance proof is then not evaluated
for those entities. The GX suites report these rows as not evaluated and the close package shows
them; dbt's warning snapshot_covers_ledger words them the same way. Plain SQL,
without Great Expectations, so the close package can read it without importing GX.
"""

# Rows (entity_id, currency, problem), named with the last day of the entity's ledger in that currency.
NOT_COVERED_BY_A_SNAPSHOT = """
    select entity_id, currency,
        'not evaluated: no Stripe balance snapshot covers ' || strftime(max(accounting_date), '%Y-%m-%d')
            || '; run up to now or use the roll-forward' as problem
    from main.fct_journal_lines
    where account_code = (select account_code from accounting.gl_control_accounts where account_role = 'stripe_clearing')
        and entity_id not in (select entity_id from main.stg_stripe__balance_snapshots where entity_id is not null)
    group by entity_id, currency
"""
