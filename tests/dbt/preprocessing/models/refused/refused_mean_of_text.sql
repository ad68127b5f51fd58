{{ config(materialized='view') }}
{{ fit_imputer(source('generated', 'train'), ['segment'], strategy='mean') }}
