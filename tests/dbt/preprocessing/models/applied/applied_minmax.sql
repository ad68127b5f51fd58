{{ apply_scaler(source('generated', 'score'), ref('fit_minmax'), ['amount', 'balance', 'tenure', 'constant_value']) }}
