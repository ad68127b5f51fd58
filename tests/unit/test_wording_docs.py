"""docs/data-contract.md lists every rewordable feature with the words the mart declares."""

from __future__ import annotations

from pipeline.ingest import wording


def test_the_data_contract_lists_every_rewordable_feature_with_its_current_words() -> None:
    text = wording.DOCS_PATH.read_text(encoding="utf-8")
    assert text == wording.documented(text), (
        "docs/data-contract.md is out of date: run `python -m pipeline.ingest.wording`"
    )
    table = wording.features_markdown()
    for name in wording.mart_features():
        assert f"| `{name}` |" in table
    assert "| `events_to_date` | Events to date | events |" in table
