{{ apply_scaler(source('generated', 'score_windows'), ref('fit_windowed_scaler'), ['amount', 'tenure'], partition_by='fit_cutoff') }}
