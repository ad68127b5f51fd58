{{ fit_one_hot(source('generated', 'train'), ['segment', 'plan_code'], min_frequency=10) }}
