with

source as (

    select * from {{ source('bank', 'bank_statement_files') }}

),

renamed as (

    select
        ---------- ids
        file_sha256,

        ---------- strings
        file_name,
        source_uri,
        format as file_format,
        status as file_status,
        error_reason,
        warnings,

        ---------- numerics
        version as file_version,
        line_count,
        error_line,

        ---------- timestamps
        _loaded_at as loaded_at

    from source

)

select * from renamed
