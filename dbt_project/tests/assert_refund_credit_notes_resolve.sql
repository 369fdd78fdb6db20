{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_stripe__refunds'}}, 'description': 'Every refund with a credit note is that note\'s alone (warning). Lists each refund that several credit notes name, or whose credit note refunds another amount in all: the sales split books it by the first of its notes (by id), pro rata of its parts, which cannot be the lines Stripe credited; it never blocks. When it fails: book the difference between the notes\' lines by hand, then run the ledger again.'}) }}
-- Warning: refunds whose credit notes do not account for them one to one. The raw credit note keeps
-- its first refund (`refunds[0].refund`) and the sum of all (`refund_amount`); the split books a
-- refund by one credit note. A refund two notes name, or a note refunded through several refunds,
-- is therefore booked pro rata of one note: said here rather than silently. One row per refund.

with

notes_by_refund as (

    select
        refund_id,
        count(*) as note_count,
        min(credit_note_id) as booked_by,
        {{ sorted_distinct_string_agg('credit_note_id', ', ') }} as credit_note_ids,
        sum(refund_amount_minor) as refunded_minor
    from {{ ref('stg_stripe__credit_notes') }}
    where refund_id is not null
    group by refund_id

),

final as (

    select
        notes_by_refund.refund_id,
        'refund ' || notes_by_refund.refund_id || ' of ' || refunds.amount_minor || ' minor units is named by '
        || notes_by_refund.note_count || ' credit note' || case when notes_by_refund.note_count > 1 then 's' else '' end
        || ' (' || notes_by_refund.credit_note_ids || ') refunding ' || coalesce(cast(notes_by_refund.refunded_minor as string), 'an unknown amount')
        || ' in all: booked by ' || notes_by_refund.booked_by || ' alone, pro rata of its parts' as reason
    from notes_by_refund
    inner join {{ ref('stg_stripe__refunds') }} as refunds
        on notes_by_refund.refund_id = refunds.refund_id
    where notes_by_refund.note_count > 1
        or notes_by_refund.refunded_minor is distinct from refunds.amount_minor

)

select * from final
