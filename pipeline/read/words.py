"""A dataset's own words for what the pages and the export show: what its value at risk is
(monthly revenue, or expected spend for a business without contracts), its currency, and the
names of its customer attributes. Read from the build's `dataset_profile` model (dbt vars),
so a shop's export never says MRR, and a column the data lacks is left out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

ATTRIBUTES = ("segment", "plan", "region")
SYMBOLS = {
    "USD": "$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "BRL": "R$",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "MXN": "MX$",
}  # fmt: skip  (the same as dbt_project/macros/value_at_risk.sql currency_symbol)
MONTHLY_REVENUE, EXPECTED_SPEND = "monthly_revenue", "expected_spend"
# Data with no amounts (a clickstream, a customer file without revenue): nothing is at risk
# in money, so no page or export shows a value, an expected loss or a currency.
NO_VALUE = "none"


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "value"


@dataclass(frozen=True)
class DatasetWords:
    """The words of one build's dataset (defaults: a contractual SaaS book in USD)."""

    churn_definition: str = "contractual"
    horizon_days: int = 30
    value_kind: str = MONTHLY_REVENUE
    currency: str = "USD"
    # Days between loads of new data the team expects (the pages warn beyond).
    expected_every_days: int = 7
    labels: dict[str, str] = field(
        default_factory=lambda: {"segment": "Segment", "plan": "Plan", "region": "Region"}
    )

    @property
    def symbol(self) -> str:
        """The currency's symbol ("$"), or its code and a space ("CHF ")."""
        return SYMBOLS.get(self.currency, f"{self.currency} ")

    @property
    def has_value(self) -> bool:
        """Whether the data has amounts, so customers have a value at risk."""
        return self.value_kind != NO_VALUE

    @property
    def value_label(self) -> str:
        """What a customer's value at risk is, for a column header."""
        if self.value_kind == EXPECTED_SPEND:
            return f"Expected spend, next {self.horizon_days} days"
        return "Monthly revenue"

    @property
    def loss_label(self) -> str:
        """The expected loss (risk x value), for a column header."""
        return (
            "Expected spend lost" if self.value_kind == EXPECTED_SPEND else "Expected revenue lost"
        )

    @property
    def value_column(self) -> str:
        """The value's CSV column: `monthly_revenue_usd`, `expected_spend_90d_gbp`."""
        currency = self.currency.lower()
        if self.value_kind == EXPECTED_SPEND:
            return f"expected_spend_{self.horizon_days}d_{currency}"
        return f"monthly_revenue_{currency}"

    @property
    def loss_column(self) -> str:
        """The expected loss's CSV column."""
        currency = self.currency.lower()
        kind = "spend" if self.value_kind == EXPECTED_SPEND else "revenue"
        return f"expected_{kind}_loss_{currency}"

    def money(self, amount: float) -> str:
        """An amount as the pages show it: "$1,235", "£80"."""
        return f"{self.symbol}{amount:,.0f}"

    def label(self, attribute: str) -> str:
        """An attribute's name in the dataset's words ("Contract" for segment, say)."""
        return self.labels.get(attribute, attribute.capitalize())

    def attribute_column(self, attribute: str) -> str:
        """An attribute's CSV column, from its name in the dataset's words."""
        return _snake(self.label(attribute))


def from_profile(row: dict[str, Any] | None, has_value: bool = True) -> DatasetWords:
    """The words of a `dataset_profile` row (defaults for a build made before it existed);
    `has_value`: whether any customer has a positive value at risk (else the data has no
    amounts, and its words have no value, loss or currency)."""
    if not row:
        return DatasetWords() if has_value else DatasetWords(value_kind=NO_VALUE)
    return DatasetWords(
        churn_definition=str(row["churn_definition"]),
        horizon_days=int(row["horizon_days"]),
        value_kind=str(row["value_kind"]) if has_value else NO_VALUE,
        currency=str(row["currency"]).upper(),
        expected_every_days=int(row.get("data_expected_every_days") or 7),
        labels={name: str(row[f"{name}_label"]) for name in ATTRIBUTES},
    )


def present_names(at_risk: pd.DataFrame) -> bool:
    """Whether the data names its customers: a name column that only repeats each id (no
    name was mapped) is left out, as an empty attribute is."""
    names = at_risk["customer_name"].astype("string")
    return bool((names.notna() & (names != at_risk["customer_id"].astype("string"))).any())


def present_attributes(at_risk: pd.DataFrame) -> tuple[str, ...]:
    """The customer attributes the data has: a column empty for every customer is left out."""
    present = []
    for name in ATTRIBUTES:
        if name in at_risk:
            values = at_risk[name].astype("string").str.strip()
            if (values.fillna("") != "").any():
                present.append(name)
    return tuple(present)
