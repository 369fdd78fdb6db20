with

source as (

    select * from {{ source('bank', 'bank_statement_lines') }}

),

renamed as (

    select
        ---------- ids
        bank_statement_line_id,
        bank_account_id,
        file_sha256,

        ---------- strings
        lower(currency) as currency,
        direction,
        entry_status,
        bank_reference,
        customer_reference,
        transaction_code,
        text as statement_text,
        file_name,

        ---------- numerics
        -- Signed like the account moves: credits (money in) positive, debits negative.
        case when direction = 'credit' then amount_minor else -amount_minor end as signed_amount_minor,
        file_position,
        file_line,

        ---------- dates and timestamps
        booking_date,
        value_date,
        _loaded_at as loaded_at

    from source

)

select * from renamed
