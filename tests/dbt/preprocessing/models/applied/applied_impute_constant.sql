{{ apply_imputer(source('generated', 'score'), ref('fit_impute_constant'), ['amount', 'tenure']) }}
