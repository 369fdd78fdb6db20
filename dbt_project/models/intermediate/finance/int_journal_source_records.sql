-- Every debit and credit before summarizing, grouped by the source record that calls for them: one
-- row per balance transaction (or payout bank move) with the journal entry it belongs to at the
-- configured granularity (var `journal_granularity`: daily, payout or transaction) and its `lines`,
-- a list of (line_role, account_code, amount_minor) in signed minor units, debit positive.
-- A balance transaction books its gross to its category's account (a charge or refund whose sale
-- is known: to its parts' accounts instead, int_balance_transaction_sales_split), its fee components
-- to their accounts and its net to Stripe clearing (gross - fee - net = 0: each balances alone).
-- A payout's money moves from cash in transit to the bank when it arrives (int_payout_bank_moves).
-- Each record books to the entity of the Stripe account it came from (staging's `entity_id`).
-- One row per record rather than per line: the drill-down stores each source id once, not three
-- times (fct_journal_line_sources unnests the lines when read). A transaction whose fee is split
-- by fee_details (int_balance_transaction_fees_split) has one more row per other fee kind.
-- In a windowed build only the days it rewrites are computed (int_journal_rebuild_days), with the
-- locked periods, whose adjustments compare every record: DuckDB cannot push a filter on the
-- accounting date through the fee aggregation, which then grouped the fees of the whole history.
-- depends_on: {{ ref('int_journal_rebuild_days') }}, {{ ref('stg_close__period_locks') }}
{%- set granularity = journal_granularity() %}
{%- set rebuild_days = journal_rebuild_days() %}

with

transactions_dated as (

    select
        mapped.balance_transaction_id,
        mapped.entity_id,
        mapped.currency,
        mapped.amount_minor,
        mapped.fee_minor,
        mapped.net_minor,
        mapped.gross_account_code,
        mapped.stripe_fee_account_code,
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

transactions as (

    select * from transactions_dated
    {%- if rebuild_days is not none %}
    where {{ day_in('entry_date', rebuild_days) }}
        or {{ period_in(format_date('entry_date', '%Y-%m'), locked_periods()) }}
    {%- endif %}

),

control_accounts as (

    select
        {{ control_account('stripe_clearing') }} as stripe_clearing,
        {{ control_account('bank') }} as bank,
        {{ control_account('cash_in_transit') }} as cash_in_transit

),

split_fees as (

    select * from {{ ref('int_balance_transaction_fees_split') }}

),

split_totals as (

    select split_fees.balance_transaction_id, sum(split_fees.amount_minor) as split_minor
    from split_fees
    {%- if rebuild_days is not none %}
    semi join transactions
        on split_fees.balance_transaction_id = transactions.balance_transaction_id
    {%- endif %}
    group by split_fees.balance_transaction_id

),

-- What each charge or refund sold, one list per transaction (int_balance_transaction_sales_split):
-- revenue per product, discounts, tax per rate, shipping. A line per role and account, in that
-- order (a struct sorts by its fields in order).
sales_splits as (

    select
        balance_transaction_id,
        -- Sorted by role, then account: the struct's first fields (one line per role and account).
        {{ sorted_list_agg(journal_line('line_role', 'account_code', 'amount_minor')) }} as lines,
        sum(amount_minor) as split_minor
    from (
        select split.balance_transaction_id, split.line_role, split.account_code, sum(split.amount_minor) as amount_minor
        from {{ ref('int_balance_transaction_sales_split') }} as split
        {%- if rebuild_days is not none %}
        semi join transactions
            on split.balance_transaction_id = transactions.balance_transaction_id
        {%- endif %}
        group by all
    )
    group by balance_transaction_id

),

-- A transaction's gross (what its sales split leaves of it, on the mapping rule's account), its
-- sale's parts, its Stripe fee (`fee` less the parts split off to other fee kinds) and its net.
transaction_records as (

    select
        'balance_transaction' as source_kind,
        transactions.balance_transaction_id as source_id,
        transactions.entity_id,
        transactions.entry_date,
        transactions.entry_key,
        transactions.currency,
        {{ list_where(
            list_concat(
                list_of([
                    journal_line("'gross'", 'transactions.gross_account_code', '-transactions.amount_minor - coalesce(sales_splits.split_minor, 0)'),
                    journal_line(
                        "'fee:stripe_fee'", 'transactions.stripe_fee_account_code',
                        'case when transactions.fee_minor <> 0 then transactions.fee_minor - coalesce(split_totals.split_minor, 0) else 0 end'
                    ),
                    journal_line("'stripe_clearing'", 'control_accounts.stripe_clearing', 'transactions.net_minor'),
                ]),
                'coalesce(sales_splits.lines, ' ~ list_of([]) ~ ')'
            ),
            'line', 'line.amount_minor <> 0'
        ) }} as lines
    from transactions
    left join split_totals
        on transactions.balance_transaction_id = split_totals.balance_transaction_id
    left join sales_splits
        on transactions.balance_transaction_id = sales_splits.balance_transaction_id
    cross join control_accounts

),

-- The other fee kinds, one record each: collecting them into one list per transaction (a list
-- aggregate over millions of rows) would cost more than the rows it saves. A transaction without
-- a fee books no fee line, whatever its details say.
split_fee_records as (

    select
        'balance_transaction' as source_kind,
        split_fees.balance_transaction_id as source_id,
        transactions.entity_id,
        transactions.entry_date,
        transactions.entry_key,
        transactions.currency,
        {{ list_of([journal_line(
            "'fee:' || split_fees.fee_type",
            'coalesce(split_fees.account_code, transactions.stripe_fee_account_code)',
            'split_fees.amount_minor'
        )]) }} as lines
    from split_fees
    inner join transactions
        on split_fees.balance_transaction_id = transactions.balance_transaction_id
    where split_fees.amount_minor <> 0
        and transactions.fee_minor <> 0

),

bank_move_records as (

    select
        bank_moves.source_kind,
        bank_moves.payout_id as source_id,
        payouts.entity_id,
        bank_moves.accounting_date as entry_date,
        {%- if granularity == 'daily' %}
        {{ daily_entry_key('bank_moves.accounting_date', 'bank_moves.currency') }} as entry_key,
        {%- else %}
        bank_moves.payout_id || '-' || upper(replace(bank_moves.source_kind, 'payout_', '')) as entry_key,
        {%- endif %}
        bank_moves.currency,
        {{ list_of([
            journal_line("'bank'", 'control_accounts.bank', 'bank_moves.amount_minor'),
            journal_line("'cash_in_transit'", 'control_accounts.cash_in_transit', '-bank_moves.amount_minor'),
        ]) }} as lines
    from {{ ref('int_payout_bank_moves') }} as bank_moves
    inner join {{ ref('stg_stripe__payouts') }} as payouts
        on bank_moves.payout_id = payouts.payout_id
    cross join control_accounts

),

unioned as (

    select * from transaction_records
    union all
    select * from split_fee_records
    union all
    select * from bank_move_records

)

select
    entity_id,
    {{ journal_entry_id('entity_id', 'entry_key') }} as journal_entry_id,
    source_kind,
    source_id,
    currency,
    entry_date as accounting_date,
    lines
from unioned
-- A transaction that moves nothing books no line.
where {{ list_length('lines') }} > 0
