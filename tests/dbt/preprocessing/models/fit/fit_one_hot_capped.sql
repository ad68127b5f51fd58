{{ fit_one_hot(source('generated', 'train'), ['segment', 'region'], max_categories=4, min_frequency=0.02) }}
