{{ fit_one_hot(source('generated', 'train'), ['region'], max_categories=7) }}
