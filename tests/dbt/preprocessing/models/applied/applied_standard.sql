{{ apply_scaler(source('generated', 'score'), ref('fit_standard'), ['amount', 'balance', 'tenure', 'constant_value']) }}
