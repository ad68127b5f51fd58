"""The sentences owners read: counted the way an owner counts, and honest about old data."""

from datetime import date

import pandas as pd

from pipeline.read import sentences

TODAY = date(2026, 12, 6)


def months(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["scoring_month", "method", "precision_at_k", "n_customers"])


def test_data_age_counts_days_and_flags_data_older_than_the_cadence() -> None:
    assert sentences.data_age(date(2026, 12, 6), TODAY, 7) == (
        "Newest data: 06 Dec 2026, today",
        False,
    )
    assert sentences.data_age(pd.Timestamp("2026-12-05"), TODAY, 7)[0].endswith("yesterday")
    text, stale = sentences.data_age(date(2026, 9, 30), TODAY, 7)
    assert text == "Newest data: 30 Sep 2026, 67 days ago" and stale
    assert not sentences.data_age(date(2026, 9, 30), TODAY, 90)[1]
    # A historical export (CDNOW ends in June 1998): thousands separated, and in years.
    assert sentences.data_age(date(1998, 6, 30), TODAY, 7)[0] == (
        "Newest data: 30 Jun 1998, 10,386 days ago (about 28 years)"
    )


def test_data_age_without_data_says_so() -> None:
    assert sentences.data_age(None, TODAY, 7) == ("No data yet.", False)
    assert sentences.data_age(pd.NaT, TODAY, 7) == ("No data yet.", False)


def test_stale_warning_names_the_cadence_and_what_to_do() -> None:
    warning = sentences.stale_warning("Newest data: 30 Sep 2026, 67 days ago", 7)
    assert "67 days ago" in warning and "7 days" in warning and "rebuild" in warning


def test_flagged_and_left_counts_the_newest_month_against_no_model() -> None:
    metrics = months(
        [
            ("2026-08-01", "xgboost", 0.50, 900),
            ("2026-09-01", "xgboost", 0.23, 900),
            ("2026-09-01", "recency", 0.16, 900),
        ]
    )
    assert sentences.flagged_and_left(metrics, 100) == (
        "In September 2026, 23 of the 100 customers the model flagged left; 16 would have "
        "among the 100 quiet the longest (no model)."
    )


def test_flagged_and_left_never_flags_more_customers_than_were_scored() -> None:
    metrics = months([("2026-09-01", "xgboost", 0.5, 40)])
    assert sentences.flagged_and_left(metrics, 100) == (
        "In September 2026, 20 of the 40 customers the model flagged left."
    )


def test_flagged_and_left_says_when_customers_were_held_out_rather_than_a_later_month() -> None:
    metrics = months([("2026-12-06", "xgboost", 0.72, 5000)]).assign(held_out=True)
    assert sentences.held_out(metrics)
    assert sentences.flagged_and_left(metrics, 200) == (
        "On customers held out of training (06 Dec 2026), 144 of the 200 the model rated "
        "riskiest had left."
    )
    walked = months([("2026-09-01", "xgboost", 0.5, 40)])
    assert not sentences.held_out(walked)  # and a warehouse from before the column existed
    assert not sentences.held_out(walked.assign(held_out=False))


def test_flagged_and_left_is_silent_without_a_measured_model_month() -> None:
    assert sentences.flagged_and_left(months([]), 100) is None
    assert sentences.flagged_and_left(months([("2026-09-01", "recency", 0.2, 50)]), 10) is None


def test_ranking_quality_puts_the_number_in_words() -> None:
    assert sentences.ranking_quality(0.84) == "0.84 (good; 0.5 is chance, 1 is perfect)"
    assert sentences.ranking_quality(0.52).startswith("0.52 (close to chance")
    assert sentences.ranking_quality(float("nan")) == "not measured"


def test_a_count_takes_its_noun_in_the_right_number() -> None:
    assert sentences.count_of(1, "change") == "1 change"
    assert sentences.count_of(0, "change") == "0 changes"
    assert sentences.count_of(1200, "customer") == "1,200 customers"
    assert sentences.count_of(2, "family", "families") == "2 families"


def test_shared_reasons_name_the_weightiest_and_count_the_rest() -> None:
    common = pd.DataFrame(
        {
            "label": [f"Factor {n}" for n in range(6)],
            "share_of_list": [1.0, 0.99, 0.95, 0.9, 0.85, 0.8],
        }
    )
    text = sentences.shared_reasons(common, 100, escape=lambda label: label.upper())
    assert text.startswith("Nearly every one of the 100 customers your team can contact")
    assert "FACTOR 0 (100% of them); FACTOR 1 (99% of them)" in text
    assert "FACTOR 3 (90% of them); and 2 more factors." in text and "FACTOR 4" not in text
    one = sentences.shared_reasons(common.head(1), 100)
    assert "Factor 0 (100% of them). A reason everyone has" in one and "more" not in one
