{{ fit_imputer(source('generated', 'train'), ['amount', 'balance', 'tenure', 'constant_value'], strategy='median') }}
