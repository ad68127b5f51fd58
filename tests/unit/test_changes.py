"""What changed between two builds, who owns it, and when it is the pipeline's doing."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from monitoring.changes import MOVED_PSI, judge, moved_features
from pipeline.build.fingerprint import Fingerprint, compare


def node(checksum: str, layer: str, macros: list[str], parents: list[str]) -> dict[str, object]:
    return {"checksum": checksum, "path": f"{checksum}.sql", "layer": layer, "macros": macros,
            "parents": parents}  # fmt: skip


NODES = {
    "model.baton.stg_raw__activity": node("a", "staging", [], []),
    "model.baton.customer_snapshots": node(
        "m", "marts", ["macro.baton.trailing_window_rows"], ["model.baton.stg_raw__activity"]
    ),
    "model.baton.ml_predictions": node("p", "ml", [], ["model.baton.customer_snapshots"]),
}


def fingerprint(**changed: object) -> Fingerprint:
    base = Fingerprint(
        nodes={k: dict(v) for k, v in NODES.items()},
        macros={"macro.baton.trailing_window_rows": "w"},
        vars={"horizon_days": 30, "capacity_k": 100, "currency": "USD"},
        code={"ml/train.py": "t", "monitoring/verdict.py": "v"},
        libraries={"xgboost": "3.2.0"},
        data={"usage_daily": {"rows": 10, "digest": "d", "newest": "2026-09-30"}},
    )
    for name, value in changed.items():
        setattr(base, name, value)
    return base


def test_changes_get_their_kind_owner_and_whether_they_feed_the_features() -> None:
    nodes = {k: dict(v) for k, v in NODES.items()}
    nodes["model.baton.stg_raw__activity"]["checksum"] = "b"
    nodes["model.baton.ml_predictions"]["checksum"] = "q"
    after = fingerprint(
        nodes=nodes,
        macros={"macro.baton.trailing_window_rows": "w2"},
        vars={"horizon_days": 45, "capacity_k": 50, "currency": "GBP"},
        code={"ml/train.py": "t2", "monitoring/verdict.py": "v2"},
        libraries={"xgboost": "3.3.0"},
        data={"usage_daily": {"rows": 12, "digest": "e", "newest": "2026-10-31"}},
    )
    found = {(c.kind, c.name): (c.owner, c.feeds_features) for c in compare(fingerprint(), after)}
    assert found == {
        ("code", "stg_raw__activity"): ("analytics engineer", True),
        ("code", "ml_predictions"): ("ML engineer", False),
        ("code", "trailing_window_rows"): ("analytics engineer", True),
        ("code", "ml/train.py"): ("ML engineer", False),
        ("code", "monitoring/verdict.py"): ("analytics engineer", False),
        ("config", "horizon_days"): ("analytics engineer", True),
        ("config", "capacity_k"): ("ML engineer", False),
        ("config", "currency"): ("analytics engineer", False),
        ("environment", "xgboost"): ("ML engineer", False),
        ("data", "usage_daily"): ("data engineer (source owner)", True),
    }
    assert compare(fingerprint(), fingerprint()) == []


def changes(*rows: tuple[str, str, str, bool]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"kind": k, "name": n, "owner": o, "detail": "", "layer": "", "feeds_features": f}
            for k, n, o, f in rows
        ]
    )


def shifts(*moved: str) -> pd.DataFrame:
    return pd.DataFrame(
        [{"feature": name, "psi": 2 * MOVED_PSI, "moved": True} for name in moved],
        columns=["feature", "psi", "moved"],
    )


def test_a_change_feeding_the_features_is_blamed_when_a_feature_moved() -> None:
    made = changes(("code", "stg_raw__activity", "analytics engineer", True))
    culprits, evidence = judge(made, shifts("active_days_30d"), 0.0, {})
    assert culprits["name"].tolist() == ["stg_raw__activity"]
    assert any("moved on the same snapshot" in str(e["message"]) for e in evidence)
    harmless, evidence = judge(made, shifts(), 0.0, {})
    assert harmless.empty
    assert any("(harmless)" in str(e["message"]) for e in evidence)


def test_an_ml_change_is_blamed_only_when_accuracy_moved() -> None:
    made = changes(("code", "ml/train.py", "ML engineer", False))
    assert judge(made, shifts(), 0.002, {})[0].empty
    assert judge(made, shifts(), -0.03, {})[0]["name"].tolist() == ["ml/train.py"]


def test_new_data_alone_is_never_a_pipeline_change() -> None:
    made = changes(("data", "usage_daily", "data engineer (source owner)", True))
    culprits, evidence = judge(made, shifts("active_days_30d"), -0.05, {})
    assert culprits.empty and evidence == []


def test_a_feature_moves_when_the_same_customers_get_other_values() -> None:
    rng = np.random.default_rng(0)
    before = pd.DataFrame({"days": rng.exponential(10, 2000), "plan": rng.choice(["a", "b"], 2000)})
    same = moved_features(
        before, before.copy(), {"days": "numeric", "plan": "categorical"}
    ).set_index("feature")
    assert not same["moved"].any() and same["psi"].max() < 1e-9
    after = before.assign(days=before["days"] * 3)
    assert (
        moved_features(before, after, {"days": "numeric", "plan": "categorical"})
        .set_index("feature")
        .loc["days", "moved"]
    )


def test_a_fingerprint_round_trips_through_the_run_record() -> None:
    taken = fingerprint()
    assert Fingerprint.from_dict(asdict(taken)) == taken
