-- Every debit and credit before summarizing: signed minor units, debit positive, one row per
-- source record, line role and account, with the journal entry it belongs to at the configured
-- granularity (var `journal_granularity`: daily, payout or transaction).
-- A balance transaction books its gross to its category's account, its fee components to their
-- accounts and its net to Stripe clearing (gross - fee - net = 0: each transaction balances alone).
-- A payout's money moves from cash in transit to the bank when it arrives (int_payout_bank_moves).
{%- set granularity = journal_granularity() %}
{%- set entity = "'" ~ var('entity_id') ~ "'" %}

with

transactions as (

    select * from {{ ref('int_balance_transactions_mapped') }}

),

fees as (

    select * from {{ ref('int_balance_transaction_fees_split') }}

),

bank_moves as (

    select * from {{ ref('int_payout_bank_moves') }}

),

payout_memberships as (

    -- A transaction belongs to one payout; a second claim is a broken payout the proofs report.
    select
        payout_transactions.balance_transaction_id,
        min(payout_transactions.payout_id) as payout_id
    from {{ ref('stg_stripe__payout_transactions') }} as payout_transactions
    group by payout_transactions.balance_transaction_id

),

payouts as (

    select * from {{ ref('stg_stripe__payouts') }}

),

transaction_entries as (

    select
        transactions.balance_transaction_id,
        payout_memberships.payout_id,
        {%- if granularity == 'daily' %}
        transactions.accounting_date as entry_date,
        {{ daily_entry_key('transactions.accounting_date', 'transactions.currency') }} as entry_key
        {%- elif granularity == 'payout' %}
        -- A payout's transactions book together on the day the payout leaves; the rest daily.
        coalesce({{ accounting_date('payouts.created_at') }}, transactions.accounting_date) as entry_date,
        coalesce(
            payout_memberships.payout_id || '-' || upper(transactions.currency),
            {{ daily_entry_key('transactions.accounting_date', 'transactions.currency') }}
        ) as entry_key
        {%- else %}
        transactions.accounting_date as entry_date,
        transactions.balance_transaction_id as entry_key
        {%- endif %}
    from transactions
    left join payout_memberships
        on transactions.balance_transaction_id = payout_memberships.balance_transaction_id
    {%- if granularity == 'payout' %}
    left join payouts
        on payout_memberships.payout_id = payouts.payout_id
    {%- endif %}

),

gross_lines as (

    select
        'balance_transaction' as source_kind,
        balance_transaction_id as source_id,
        'gross' as line_role,
        currency,
        gross_account_code as account_code,
        -amount_minor as amount_minor
    from transactions
    where amount_minor <> 0

),

fee_lines as (

    select
        'balance_transaction' as source_kind,
        fees.balance_transaction_id as source_id,
        'fee:' || fees.fee_type as line_role,
        transactions.currency,
        fees.account_code,
        fees.amount_minor
    from fees
    inner join transactions
        on fees.balance_transaction_id = transactions.balance_transaction_id
    where fees.amount_minor <> 0

),

clearing_lines as (

    select
        'balance_transaction' as source_kind,
        balance_transaction_id as source_id,
        'stripe_clearing' as line_role,
        currency,
        {{ control_account('stripe_clearing') }} as account_code,
        net_minor as amount_minor
    from transactions
    where net_minor <> 0

),

transaction_lines as (

    select
        lines.source_kind,
        lines.source_id,
        lines.line_role,
        entries.payout_id,
        entries.entry_date,
        entries.entry_key,
        lines.currency,
        lines.account_code,
        lines.amount_minor
    from (
        select * from gross_lines
        union all
        select * from fee_lines
        union all
        select * from clearing_lines
    ) as lines
    inner join transaction_entries as entries
        on lines.source_id = entries.balance_transaction_id

),

bank_move_entries as (

    select
        *,
        {%- if granularity == 'daily' %}
        {{ daily_entry_key('accounting_date', 'currency') }} as entry_key
        {%- else %}
        payout_id || '-' || upper(replace(source_kind, 'payout_', '')) as entry_key
        {%- endif %}
    from bank_moves

),

bank_lines as (

    select source_kind, payout_id as source_id, 'bank' as line_role, payout_id, accounting_date as entry_date,
        entry_key, currency, {{ control_account('bank') }} as account_code, amount_minor
    from bank_move_entries
    union all
    select source_kind, payout_id as source_id, 'cash_in_transit' as line_role, payout_id, accounting_date as entry_date,
        entry_key, currency, {{ control_account('cash_in_transit') }} as account_code, -amount_minor as amount_minor
    from bank_move_entries

),

unioned as (

    select * from transaction_lines
    union all
    select * from bank_lines

)

select
    {{ entity }} as entity_id,
    {{ journal_entry_id(entity, 'entry_key') }} as journal_entry_id,
    source_kind,
    source_id,
    line_role,
    payout_id,
    currency,
    account_code,
    cast(amount_minor as bigint) as amount_minor,
    entry_date as accounting_date
from unioned
