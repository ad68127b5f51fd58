{{ fit_one_hot(source('generated', 'train'), ['segment', 'region', 'plan_code']) }}
