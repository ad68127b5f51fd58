"""The raw-data contract: the tables and columns the dbt sources read from raw.duckdb.

The demo generator writes these tables directly; your own data gets here through a mapping
file (`python -m pipeline import MAPPING.yml`). Tables marked optional may be left out of
a mapping: they are then created empty, and the features built on them are zero or null.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One contract column: name, DuckDB type, whether a value is required, and meaning."""

    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Table:
    """One contract table."""

    name: str
    description: str
    required: bool
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(column.name for column in self.columns)


CONTRACT: tuple[Table, ...] = (
    Table(
        "accounts",
        "One row per customer.",
        True,
        (
            Column("account_id", "VARCHAR", True, "Unique customer id."),
            Column("account_name", "VARCHAR", False, "Display name (defaults to the id)."),
            Column("signup_date", "DATE", True, "Day the customer started."),
            Column("plan", "VARCHAR", False, "Plan or product tier at signup."),
            Column("segment", "VARCHAR", False, "Market segment."),
            Column("region", "VARCHAR", False, "Region or country."),
            Column("seats", "INTEGER", False, "Licensed seats at signup."),
            Column("platform", "VARCHAR", False, "Main client platform."),
        ),
    ),
    Table(
        "subscriptions",
        "Subscription periods (contractual businesses); a new row on every plan change.",
        False,
        (
            Column("subscription_id", "VARCHAR", True, "Unique period id."),
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("plan", "VARCHAR", False, "Plan of the period."),
            Column("billing_period", "VARCHAR", True, "monthly or annual."),
            Column("seats", "INTEGER", False, "Licensed seats."),
            Column("mrr", "DOUBLE", True, "Monthly recurring revenue."),
            Column("started_at", "DATE", True, "First day of the period."),
            Column("ended_at", "DATE", False, "Last day; null while running."),
            Column("status", "VARCHAR", True, "active, cancelled or changed."),
        ),
    ),
    Table(
        "usage_daily",
        "Activity per customer and day: product usage, visits or purchases.",
        True,
        (
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("usage_date", "DATE", True, "Day of the activity."),
            Column("active_users", "INTEGER", True, "Distinct users active that day (1 if n/a)."),
            Column("events", "INTEGER", True, "Events, orders or lines recorded that day."),
        ),
    ),
    Table(
        "invoices",
        "Invoices or orders billed to customers.",
        False,
        (
            Column("invoice_id", "VARCHAR", True, "Unique invoice id."),
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("invoice_date", "DATE", True, "Day issued."),
            Column("due_date", "DATE", False, "Day due."),
            Column("amount", "DOUBLE", True, "Amount."),
        ),
    ),
    Table(
        "payments",
        "Payment attempts (or paid orders), including failed ones.",
        False,
        (
            Column("payment_id", "VARCHAR", True, "Unique attempt id."),
            Column("invoice_id", "VARCHAR", False, "Invoice paid."),
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("attempted_at", "TIMESTAMP", True, "When attempted."),
            Column("amount", "DOUBLE", True, "Amount."),
            Column("status", "VARCHAR", True, "succeeded or failed."),
        ),
    ),
    Table(
        "tickets",
        "Support tickets.",
        False,
        (
            Column("ticket_id", "VARCHAR", True, "Unique ticket id."),
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("created_at", "TIMESTAMP", True, "When opened."),
            Column("priority", "VARCHAR", False, "low, normal, high or urgent."),
            Column("category", "VARCHAR", False, "Free category."),
        ),
    ),
)

TABLES: dict[str, Table] = {table.name: table for table in CONTRACT}
