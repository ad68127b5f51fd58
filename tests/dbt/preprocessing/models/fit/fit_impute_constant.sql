{{ fit_imputer(source('generated', 'train'), ['amount', 'tenure'], strategy='constant', fill_value=-1.5) }}
