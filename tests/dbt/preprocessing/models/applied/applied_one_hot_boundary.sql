{{ apply_one_hot(source('generated', 'score'), ref('fit_one_hot_boundary'), ['region']) }}
