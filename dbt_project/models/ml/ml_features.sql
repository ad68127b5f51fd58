-- The feature rows the ML layer learns from and scores: the event feature mart, or the mart
-- of a flat customer file (var `dataset_kind`). One name for the Python models to read.
{{ config(materialized='view') }}

{%- set relation = ref('flat_customer_snapshots') if var('dataset_kind') == 'flat' else ref('customer_snapshots') %}

select * from {{ relation }}
