{{ fit_scaler(source('generated', 'train'), ['amount', 'balance', 'tenure', 'constant_value'], method='minmax', where='id % 4 <> 0') }}
