{{ apply_one_hot(source('generated', 'score'), ref('fit_one_hot_plain'), ['segment', 'region', 'plan_code'], keep_original=true) }}
