-- The data as-of date of the build: from the event sources, or from the exports of a flat
-- customer file (var `dataset_kind`).
{%- set relation = ref('int_flat_data_as_of') if var('dataset_kind') == 'flat' else ref('int_data_as_of') %}

select as_of_date from {{ relation }}
