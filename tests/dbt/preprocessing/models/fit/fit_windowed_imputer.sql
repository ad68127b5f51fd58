{{ fit_imputer(source('generated', 'train_windows'), ['amount', 'balance'], strategy='median', partition_by='fit_cutoff') }}
