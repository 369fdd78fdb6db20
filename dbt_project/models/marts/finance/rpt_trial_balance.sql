-- Balance per entity, currency and account over the whole ledger; sums to zero per currency.

with

journal_lines as (

    select * from {{ ref('fct_journal_lines') }}

),

accounts as (

    select * from {{ ref('gl_accounts') }}

),

balances as (

    select
        entity_id,
        currency,
        account_code,
        cast(sum(amount_minor) as bigint) as balance_minor,
        cast(sum(case when amount_minor > 0 then amount_minor else 0 end) as bigint) as debit_minor,
        cast(sum(case when amount_minor < 0 then -amount_minor else 0 end) as bigint) as credit_minor
    from journal_lines
    group by all

)

select
    balances.entity_id,
    balances.currency,
    balances.account_code,
    accounts.account_name,
    accounts.account_type,
    balances.balance_minor,
    balances.debit_minor,
    balances.credit_minor
from balances
left join accounts
    on balances.account_code = accounts.account_code
