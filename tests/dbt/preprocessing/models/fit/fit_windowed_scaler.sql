{{ fit_scaler(source('generated', 'train_windows'), ['amount', 'tenure'], method='standard', partition_by='fit_cutoff') }}
