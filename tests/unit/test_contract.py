"""The documented raw-data contract is the one the code enforces."""

from pipeline.contract import CONTRACT
from pipeline.settings import ROOT


def test_data_contract_page_lists_every_table_and_column_with_its_type() -> None:
    page = (ROOT / "docs" / "data-contract.md").read_text()
    for table in CONTRACT:
        assert f"**`{table.name}`** ({'required' if table.required else 'optional'})" in page
        for column in table.columns:
            required = "yes" if column.required else ""
            assert f"| `{column.name}` | {column.type} | {required} |" in page, column


def test_every_table_has_a_customer_key() -> None:
    for table in CONTRACT:
        assert "account_id" in table.column_names, table.name
