{{ apply_imputer(source('generated', 'score'), ref('fit_impute_most_frequent'), ['amount', 'tenure', 'tie_value', 'segment', 'region']) }}
