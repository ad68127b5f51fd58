{{ apply_imputer(source('generated', 'score'), ref('fit_impute_median'), ['amount', 'balance', 'tenure', 'constant_value']) }}
