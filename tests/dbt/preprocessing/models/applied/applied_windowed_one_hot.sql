{{ apply_one_hot(source('generated', 'score_windows'), ref('fit_windowed_one_hot'), ['segment'], partition_by='fit_cutoff') }}
