{#- The tax jurisdiction of a country and state, ISO 3166 style: the country, and the state for a US
    sale (state sales tax): `US-CA`, `DE`. One naming for invoice tax rates and Stripe Tax
    transactions, so one jurisdiction means one thing in the tax payable mart and gl_tax_accounts. -#}
{% macro iso_jurisdiction(country, state) -%}
    upper({{ country }})
        || case when upper({{ country }}) = 'US' and {{ state }} is not null then '-' || upper({{ state }}) else '' end
{%- endmacro %}
