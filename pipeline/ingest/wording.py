"""A mapping's words: the business's names for the mart's features, the customer attributes
and units (`features:` of an events mapping, `labels:`), checked against the feature mart's
column meta (dbt_project/models/marts/customer_snapshots.yml), which is also where the
rewordable features and their default words are documented from (docs/data-contract.md).
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.ingest.validation import Problem
from pipeline.settings import ROOT

MAPPING = "mapping"

# Customer attributes a mapping may name in its business's words (`labels:`), and `event`:
# the business's noun for one event (unit, order, visit), which words every event count.
ATTRIBUTES = ("segment", "plan", "region")
EVENT = "event"
# What an events mapping may change about a feature of the mart: its words, not its values.
WORDING_KEYS = {"label", "unit", "reason", "reason_if_missing", "description"}
MART_YAML = ROOT / "dbt_project" / "models" / "marts" / "customer_snapshots.yml"
# Units a feature's value is formatted by (dbt_project/macros/format_feature_value.sql);
# `usd` is the older name of `money`, which uses the dataset's currency (var `currency`).
UNITS = (
    "",
    "money",
    "days",
    "months",
    "count",
    "events",
    "seats",
    "share",
    "ratio",
    "times",
    "decimal",
)
UNIT_ALIASES = {"usd": "money"}
LABEL_HINT = "label: a plain name of up to 80 characters, shown to business users."
UNIT_HINT = f"unit: one of {', '.join(u for u in UNITS if u)}, or empty."


def report(problems: list[Problem], table: str, column: str, rule: str, hint: str) -> None:
    """Note a problem of the mapping file itself (no rows to count)."""
    problems.append(Problem(table, column, rule, 0, (), hint))


def mart_meta() -> dict[str, dict[str, Any]]:
    """The event feature mart's features (columns of customer_snapshots with a kind): their
    column meta (label, kind, unit, reason, ...), by name, in the mart's order."""
    model = yaml.safe_load(MART_YAML.read_text(encoding="utf-8"))["models"][0]
    metas = {
        column["name"]: (column.get("config") or {}).get("meta") or {}
        for column in model["columns"]
    }
    return {name: meta for name, meta in metas.items() if meta.get("kind")}


def mart_features() -> list[str]:
    """Names of the event feature mart's features."""
    return list(mart_meta())


def event_wording(noun: str) -> dict[str, dict[str, str]]:
    """The features that count events (unit `events`), worded with the business's noun for
    one event (`labels: {event: unit}`): "Units, last 7 days", "3 units in the last 7 days"."""
    noun = noun.strip()
    plural = f"{noun}s"
    return {
        name: {
            "label": meta["label"].replace("Events", plural[:1].upper() + plural[1:]),
            "reason": meta["reason"].replace("event{s}", f"{noun}{{s}}"),
        }
        for name, meta in mart_meta().items()
        if meta.get("unit") == "events"
    }


def label_problem(label: Any) -> bool:
    return not isinstance(label, str) or not label.strip() or len(label) > 80


def read_wording(spec: Any, problems: list[Problem]) -> dict[str, dict[str, str]]:
    """An events mapping's `features:`: new words for features of the mart, by name."""
    if not isinstance(spec, dict):
        report(
            problems,
            MAPPING,
            "features",
            "invalid setting",
            "features is a mapping of name: {label, ...}.",
        )
        return {}
    known = mart_features()
    wording = {}
    for name, options in spec.items():
        column = f"features.{name}"
        if name not in known:
            report(
                problems,
                MAPPING,
                column,
                "invalid feature",
                "An events mapping can reword the features of customer_snapshots only (such "
                "as events_to_date or paid_amount_to_date); see the feature_dictionary table.",
            )
            continue
        options = options if isinstance(options, dict) else {}
        unknown = sorted(set(options) - WORDING_KEYS)
        if unknown or not options:
            report(
                problems,
                MAPPING,
                column,
                "unknown setting",
                f"{unknown or 'nothing'} (allowed for an events mapping: {sorted(WORDING_KEYS)}).",
            )
            continue
        if "label" in options and label_problem(options["label"]):
            report(
                problems,
                MAPPING,
                column,
                "invalid feature",
                LABEL_HINT,
            )
            continue
        if unit(options.get("unit")) is None:
            report(problems, MAPPING, column, "invalid feature", UNIT_HINT)
            continue
        wording[str(name)] = {key: str(value or "").strip() for key, value in options.items()}
        if "unit" in options:
            wording[str(name)]["unit"] = str(unit(options["unit"]))
    return wording


def read_labels(spec: Any, problems: list[Problem]) -> dict[str, str]:
    """`labels:`: the business's names of the customer attributes (segment, plan, region) and
    of one event (`event`)."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        report(
            problems, MAPPING, "labels", "invalid setting", "labels is a mapping of name: label."
        )
        return {}
    labels = {}
    for name, label in spec.items():
        if name not in (*ATTRIBUTES, EVENT):
            report(
                problems,
                MAPPING,
                f"labels.{name}",
                "invalid setting",
                f"Labels name the customer attributes ({', '.join(ATTRIBUTES)}) and `{EVENT}`: "
                "what one event is, as a singular noun (unit, order, visit).",
            )
        elif label_problem(label):
            report(problems, MAPPING, f"labels.{name}", "invalid setting", LABEL_HINT)
        else:
            labels[str(name)] = str(label).strip()
    return labels


def unit(value: Any) -> str | None:
    """The unit a mapping names, in the product's terms; None when it is not one."""
    unit = str(value or "").strip().lower()
    unit = UNIT_ALIASES.get(unit, unit)
    return unit if unit in UNITS else None


# docs/data-contract.md holds the table below between these markers; `python -m
# pipeline.ingest.wording` rewrites it, and a unit test fails when it is out of date.
DOCS_PATH = ROOT / "docs" / "data-contract.md"
DOCS_START, DOCS_END = "<!-- rewordable features: start -->", "<!-- rewordable features: end -->"


def features_markdown() -> str:
    """Every feature an events mapping can reword, with its default words, as a Markdown table."""
    rows = [
        "| feature | label | unit | reason (placeholders {value}, {change}, {s}, {horizon})"
        " | when missing |",
        "|---|---|---|---|---|",
    ]
    for name, meta in mart_meta().items():
        # Words of non-contractual data (meta `non_contractual`, macros/mart_features.sql).
        shop = {
            k: f"; non-contractual: {v}" for k, v in (meta.get("non_contractual") or {}).items()
        }
        cells = [
            f"`{name}`",
            meta.get("label", "") + shop.get("label", ""),
            meta.get("unit", ""),
            meta.get("reason", "") + shop.get("reason", ""),
            meta.get("reason_if_missing", ""),
        ]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def documented(text: str) -> str:
    """`text` (the data contract's Markdown) with the features table between the markers."""
    head, _, rest = text.partition(DOCS_START)
    _, _, tail = rest.partition(DOCS_END)
    return f"{head}{DOCS_START}\n{features_markdown()}\n{DOCS_END}{tail}"


if __name__ == "__main__":
    DOCS_PATH.write_text(documented(DOCS_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"Rewrote the rewordable features in {DOCS_PATH}")
