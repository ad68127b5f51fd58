{{ apply_imputer(source('generated', 'score_windows'), ref('fit_windowed_imputer'), ['amount', 'balance'], partition_by='fit_cutoff') }}
