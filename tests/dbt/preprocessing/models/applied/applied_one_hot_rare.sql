{{ apply_one_hot(source('generated', 'score'), ref('fit_one_hot_rare'), ['segment', 'plan_code']) }}
