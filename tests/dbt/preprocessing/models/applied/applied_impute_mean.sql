{{ apply_imputer(source('generated', 'score'), ref('fit_impute_mean'), ['amount', 'balance', 'tenure', 'constant_value']) }}
