"""The raw-data contract: the tables and columns the dbt sources read from raw.duckdb.

The demo generator writes these tables directly; your own data gets here through a mapping
file (`python -m pipeline import MAPPING.yml`). Tables marked optional may be left out of
a mapping: they are then created empty, and the features built on them are zero or null.

Each column also carries the validation rules the importer applies (pipeline/validation.py):
amounts and counts that cannot be negative, dates that cannot lie in the future; each table
its key (no duplicates) and the event date that cannot precede the customer's signup.
A flat customer file (mapping `kind: flat`) uses FLAT_TABLE instead, plus declared features.
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
    non_negative: bool = False
    may_be_future: bool = False
    # SQL of the value a mapping that leaves the column out gets.
    default: str = "null"

    @property
    def is_date(self) -> bool:
        """True for DATE and TIMESTAMP columns (checked for parseability and future dates)."""
        return self.type in ("DATE", "TIMESTAMP")


@dataclass(frozen=True)
class Table:
    """One contract table: its columns, key, and the date of its events (if any)."""

    name: str
    description: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    event_date: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in contract order."""
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        """The contract column called `name`."""
        return next(column for column in self.columns if column.name == name)


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
            Column("seats", "INTEGER", False, "Licensed seats at signup.", non_negative=True),
            Column("platform", "VARCHAR", False, "Main client platform."),
        ),
        key=("account_id",),
    ),
    Table(
        "subscriptions",
        "Subscription periods (contractual businesses); a new row on every plan change.",
        False,
        (
            Column("subscription_id", "VARCHAR", True, "Unique period id."),
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("plan", "VARCHAR", False, "Plan of the period."),
            Column(
                "billing_period",
                "VARCHAR",
                False,
                "monthly or annual (monthly when not mapped).",
                default="'monthly'",
            ),
            Column("seats", "INTEGER", False, "Licensed seats.", non_negative=True),
            Column(
                "mrr",
                "DOUBLE",
                False,
                "Monthly recurring revenue (0 when not mapped: no value at risk).",
                non_negative=True,
                default="0",
            ),
            Column("started_at", "DATE", True, "First day of the period."),
            Column("ended_at", "DATE", False, "Last day; null while running.", may_be_future=True),
            Column(
                "status",
                "VARCHAR",
                False,
                "active, cancelled or changed (not mapped: active while ended_at is empty, "
                "else cancelled).",
            ),
        ),
        key=("subscription_id",),
        event_date="started_at",
    ),
    Table(
        "usage_daily",
        "Activity per customer and day: product usage, visits or purchases. Required for "
        "non-contractual churn; a subscription business without activity data leaves it out, "
        "and its model learns from the subscriptions, payments and tickets.",
        False,
        (
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("usage_date", "DATE", True, "Day of the activity."),
            Column(
                "active_users",
                "INTEGER",
                False,
                "Distinct users active that day (1 when not mapped: a shop's customer).",
                non_negative=True,
                default="1",
            ),
            Column(
                "events",
                "INTEGER",
                True,
                "Events, orders or lines recorded that day.",
                non_negative=True,
            ),
        ),
        key=("account_id", "usage_date"),
        event_date="usage_date",
    ),
    Table(
        "invoices",
        "Invoices or orders billed to customers.",
        False,
        (
            Column("invoice_id", "VARCHAR", True, "Unique invoice id."),
            Column("account_id", "VARCHAR", True, "Customer."),
            Column("invoice_date", "DATE", True, "Day issued."),
            Column("due_date", "DATE", False, "Day due.", may_be_future=True),
            Column("amount", "DOUBLE", True, "Amount.", non_negative=True),
        ),
        key=("invoice_id",),
        event_date="invoice_date",
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
            Column("amount", "DOUBLE", True, "Amount (negative for a refund)."),
            Column("status", "VARCHAR", True, "succeeded or failed."),
        ),
        key=("payment_id",),
        event_date="attempted_at",
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
        key=("ticket_id",),
        event_date="created_at",
    ),
)

TABLES: dict[str, Table] = {table.name: table for table in CONTRACT}


def checks(table: Table, column: Column) -> str:
    """The column-specific validation rules, in words (docs/data-contract.md lists them)."""
    words = []
    if column.non_negative:
        words.append("not negative")
    if column.is_date:
        words.append("a date" + ("" if column.may_be_future else ", not in the future"))
    if table.event_date == column.name:
        words.append("not before signup")
    if column.name == "account_id" and table.name not in ("accounts", "customer_exports"):
        words.append("a known customer")
    return "; ".join(words)


FLAT_TABLE = Table(
    "customer_exports",
    "Flat customer file (mapping `kind: flat`): one row per customer and export, with a churn "
    "flag, plus one column per declared feature. Exports accumulate in dbt snapshots.",
    True,
    (
        Column("account_id", "VARCHAR", True, "Unique customer id (unique within an export)."),
        Column(
            "churned",
            "BOOLEAN",
            True,
            "Churn flag: the customer left within `horizon_days` before the export.",
        ),
        Column(
            "exported_on",
            "DATE",
            False,
            "Day of the export (defaults to the import day).",
            default="current_date",
        ),
        Column("account_name", "VARCHAR", False, "Display name (defaults to the id)."),
        Column("segment", "VARCHAR", False, "Market segment (a filter on the at-risk list)."),
        Column("plan", "VARCHAR", False, "Plan or product (a filter on the at-risk list)."),
        Column("region", "VARCHAR", False, "Region or country (a filter on the at-risk list)."),
        Column("mrr", "DOUBLE", False, "Monthly revenue, for expected loss.", non_negative=True),
        Column(
            "days_since_last_activity",
            "DOUBLE",
            False,
            "Days since the last activity, for the recency baseline.",
            non_negative=True,
        ),
    ),
    key=("account_id", "exported_on"),
)
# Feature kinds of a flat file and the type each is stored as.
FEATURE_TYPES = {"numeric": "DOUBLE", "categorical": "VARCHAR"}
# Names the flat feature mart already uses; a declared feature cannot take one.
RESERVED_FEATURE_NAMES = frozenset(
    {
        "customer_id",
        "customer_name",
        "snapshot_date",
        "exported_on",
        "churned",
        "is_matured",
        "churned_within_horizon",
        *FLAT_TABLE.column_names,
        "dbt_scd_id",
        "dbt_updated_at",
        "dbt_valid_from",
        "dbt_valid_to",
    }
)
