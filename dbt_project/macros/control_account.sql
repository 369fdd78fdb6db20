{#- The account code configured for a control role (stripe_clearing, cash_in_transit, bank, ...). -#}
{% macro control_account(role) -%}
    (select account_code from {{ ref('gl_control_accounts') }} where account_role = '{{ role }}')
{%- endmacro %}
