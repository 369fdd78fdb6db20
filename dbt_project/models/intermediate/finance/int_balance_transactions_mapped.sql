-- One row per balance transaction with the GL accounts its gross amount and its fee book to.
-- An unknown reporting category books to suspense instead of being dropped.

with

transactions as (

    select * from {{ ref('stg_stripe__balance_transactions') }}

),

mapping as (

    select * from {{ ref('gl_account_mapping') }}

),

mapped as (

    select
        transactions.*,
        {{ accounting_date('transactions.created_at') }} as accounting_date,
        coalesce(mapping.gross_account_code, {{ control_account('suspense') }}) as gross_account_code,
        coalesce(mapping.fee_account_code, {{ control_account('default_fee') }}) as fee_account_code,
        mapping.reporting_category is null as is_unmapped

    from transactions
    left join mapping
        on transactions.reporting_category = mapping.reporting_category

)

select * from mapped
