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

    select
        mapped.*,
        {%- if granularity == 'daily' %}
        mapped.accounting_date as entry_date,
        {{ daily_entry_key('mapped.accounting_date', 'mapped.currency') }} as entry_key
        {%- elif granularity == 'payout' %}
        -- A payout's transactions book together on the day the payout leaves; the rest daily.
        coalesce({{ accounting_date('payouts.created_at') }}, mapped.accounting_date) as entry_date,
        coalesce(
            payout_memberships.payout_id || '-' || upper(mapped.currency),
            {{ daily_entry_key('mapped.accounting_date', 'mapped.currency') }}
        ) as entry_key
        {%- else %}
        mapped.accounting_date as entry_date,
        mapped.balance_transaction_id as entry_key
        {%- endif %}
    from {{ ref('int_balance_transactions_mapped') }} as mapped
    {%- if granularity == 'payout' %}
    left join (
        -- A transaction belongs to one payout; a second claim is a broken payout the proofs report.
        select balance_transaction_id, min(payout_id) as payout_id
        from {{ ref('stg_stripe__payout_transactions') }}
        group by balance_transaction_id
    ) as payout_memberships
        on mapped.balance_transaction_id = payout_memberships.balance_transaction_id
    left join {{ ref('stg_stripe__payouts') }} as payouts
        on payout_memberships.payout_id = payouts.payout_id
    {%- endif %}

),

fees as (

    select * from {{ ref('int_balance_transaction_fees_split') }}

),

bank_moves as (

    select * from {{ ref('int_payout_bank_moves') }}

),

gross_lines as (

    select
        'balance_transaction' as source_kind,
        balance_transaction_id as source_id,
        'gross' as line_role,
        entry_date,
        entry_key,
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
        transactions.entry_date,
        transactions.entry_key,
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
        entry_date,
        entry_key,
        currency,
        {{ control_account('stripe_clearing') }} as account_code,
        net_minor as amount_minor
    from transactions
    where net_minor <> 0

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

    select source_kind, payout_id as source_id, 'bank' as line_role, accounting_date as entry_date,
        entry_key, currency, {{ control_account('bank') }} as account_code, amount_minor
    from bank_move_entries
    union all
    select source_kind, payout_id as source_id, 'cash_in_transit' as line_role, accounting_date as entry_date,
        entry_key, currency, {{ control_account('cash_in_transit') }} as account_code, -amount_minor as amount_minor
    from bank_move_entries

),

unioned as (

    select * from gross_lines
    union all
    select * from fee_lines
    union all
    select * from clearing_lines
    union all
    select * from bank_lines

)

select
    {{ entity }} as entity_id,
    {{ journal_entry_id(entity, 'entry_key') }} as journal_entry_id,
    source_kind,
    source_id,
    line_role,
    currency,
    account_code,
    cast(amount_minor as bigint) as amount_minor,
    entry_date as accounting_date
from unioned
