"""The documented raw-data contract is the one the code enforces."""

from pipeline.contract import CONTRACT, FLAT_TABLE, checks
from pipeline.settings import ROOT


def test_data_contract_page_lists_every_table_and_column_with_its_type_and_checks() -> None:
    page = (ROOT / "docs" / "data-contract.md").read_text()
    for table in (*CONTRACT, FLAT_TABLE):
        assert f"**`{table.name}`** ({'required' if table.required else 'optional'})" in page
        assert f"Key, unique: {', '.join(f'`{k}`' for k in table.key)}." in page, table.name
        for column in table.columns:
            required = "yes" if column.required else ""
            row = (
                f"| `{column.name}` | {column.type} | {required} | {column.description} "
                f"| {checks(table, column)} |"
            )
            assert row in page, row


def test_every_table_has_a_customer_key() -> None:
    for table in (*CONTRACT, FLAT_TABLE):
        assert "account_id" in table.column_names, table.name
        assert set(table.key) <= set(table.column_names), table.name
