{{ fit_one_hot(source('generated', 'train_windows'), ['segment'], min_frequency=10, partition_by='fit_cutoff') }}
