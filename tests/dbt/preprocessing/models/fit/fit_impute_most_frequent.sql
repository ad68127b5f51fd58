{{ fit_imputer(source('generated', 'train'), ['amount', 'tenure', 'tie_value', 'segment', 'region'], strategy='most_frequent') }}
