"""Model registry records: a fitted model to and from plain columns (booster as XGBoost JSON)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pyarrow as pa
import xgboost as xgb

from ml.calibration import Calibrator
from ml.config import ModelConfig
from ml.train import ChurnModel

# Columns of a registry record (to_record), as the dbt models that hold one store them.
RECORD_SCHEMA = pa.schema(
    [
        ("model_version", pa.string()),
        ("trained_at", pa.timestamp("us", tz="UTC")),
        ("build_id", pa.string()),
        ("data_fingerprint", pa.string()),
        ("n_train", pa.int64()),
        ("n_trees", pa.int64()),
        ("config", pa.string()),
        ("categories", pa.string()),
        ("calibrator", pa.string()),
        ("booster_json", pa.string()),
    ]
)


def to_record(
    model: ChurnModel, trained_at: datetime, fingerprint: str, build_id: str
) -> dict[str, Any]:
    """One registry row; the version id is the training time plus a hash of the booster."""
    booster_json = model.booster.save_raw(raw_format="json").decode()
    digest = hashlib.sha256(booster_json.encode()).hexdigest()[:8]
    return {
        "model_version": f"{trained_at:%Y%m%d-%H%M%S}-{digest}",
        "trained_at": trained_at,
        "build_id": build_id,
        "data_fingerprint": fingerprint,
        "n_train": model.n_train,
        "n_trees": model.booster.num_boosted_rounds(),
        "config": json.dumps(asdict(model.config), default=list),
        "categories": json.dumps(model.categories),
        "calibrator": json.dumps(model.calibrator.to_dict()),
        "booster_json": booster_json,
    }


def from_record(record: dict[str, Any]) -> ChurnModel:
    """Rebuild the fitted model from a registry row."""
    booster = xgb.Booster()
    booster.load_model(bytearray(record["booster_json"].encode()))
    config_data = json.loads(record["config"])
    config = ModelConfig(
        **{
            **config_data,
            "numeric_features": tuple(config_data["numeric_features"]),
            "categorical_features": tuple(config_data["categorical_features"]),
        }
    )
    return ChurnModel(
        booster=booster,
        calibrator=Calibrator.from_dict(json.loads(record["calibrator"])),
        config=config,
        categories=json.loads(record["categories"]),
        n_train=int(record["n_train"]),
    )
