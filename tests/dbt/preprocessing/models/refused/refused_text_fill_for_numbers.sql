{{ config(materialized='view') }}
{{ fit_imputer(source('generated', 'train'), ['amount'], strategy='constant', fill_value='unknown') }}
