{{ fit_imputer(source('generated', 'train'), ['segment', 'region'], strategy='constant', fill_value="n/a 'none'") }}
