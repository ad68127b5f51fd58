"""Demo scenarios: what goes wrong in the data, or changes in the world, and from when.

Scenarios (`python -m pipeline demo --scenario NAME [--scenario-start YYYY-MM]`), each
deterministic for a seed and, by default, starting SCENARIO_MONTHS (3) months before the end
so that the newest matured months already show the effect:

- `clean`: nothing happens.
- `tracking_outage`: from the start month the web client's tracker loses 60% of the daily
  usage records of web accounts (OUTAGE_PLATFORM, OUTAGE_LOSS). Only the recording is wrong:
  behaviour, payments, tickets and churn are exactly as in `clean`.
- `price_increase`: from the start month the starter plan costs 30% more (PRICE_INCREASE_PLAN,
  PRICE_INCREASE): monthly starter accounts pay it from the start day, annual ones from their
  next renewal, new starter subscriptions at the new price. Raised accounts feel the higher
  price in their churn hazard, and price-sensitive (SMB) ones churn markedly more
  (PRICE_SHOCK_HAZARD). The inputs are valid; the world changed.
- `schema_change`: the raw column `usage_daily.events` arrives renamed to `event_count`
  (SCHEMA_CHANGE); the data is otherwise clean. A build fails at the staging contract.
- `late_data`: the newest LATE_DAYS (5) days of `usage_daily` are missing, as after a stale
  load; every other source is complete.

Adding a scenario: register its name in SCENARIOS, then either change the simulated world
(prices in `_monthly_price`, churn drivers in `_hazard_logit`, both in demo/behaviour.py;
usage in `_usage_month` in demo/tables.py) or how it gets recorded (drop, duplicate or delay
rows in `apply_scenario` below, which sees each table whole and usage one month at a time).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo.world import PLATFORMS, World

SCENARIOS = ("clean", "tracking_outage", "price_increase", "schema_change", "late_data")

# Scenarios (see the module docstring): where they start and how strong they are.
SCENARIO_MONTHS = 3  # default start: this many months before the end (the last 3 are affected)
OUTAGE_PLATFORM = "web"  # accounts whose usage records the broken tracker loses
OUTAGE_LOSS = 0.6  # share of their daily usage records lost from the start day on
PRICE_INCREASE_PLAN = "starter"
PRICE_INCREASE = 1.3  # list price multiplier of that plan from the start day on
PRICE_SHOCK_HAZARD = 1.0  # extra churn logit of raised, price-sensitive (SMB) accounts
LATE_DAYS = 5  # newest days of usage_daily missing in `late_data`
SCHEMA_CHANGE = ("usage_daily", "events", "event_count")  # table, column, new name


def default_scenario_start(end: date, months_before: int = SCENARIO_MONTHS) -> date:
    """First day of the month `months_before` months before the end (the last ones affected)."""
    month = np.datetime64(end, "M") - (months_before - 1)
    return date.fromisoformat(str(month.astype("datetime64[D]")))


def apply_scenario(name: str, table: pa.Table, world: World) -> pa.Table:
    """Change how the simulated world gets recorded in one raw table (usage: one month of it).

    "clean" keeps the table as simulated. Row-level draws come from the scenario's own stream,
    so they never shift the draws of the tables.
    """
    scenario, rng = world.scenario, world.rng["scenario"]
    if name == "usage_daily" and scenario.name in ("tracking_outage", "late_data"):
        day = pc.cast(table["usage_date"], pa.int32()).to_numpy()
        if scenario.name == "tracking_outage":
            platform = world.acc.platform[table["account"].to_numpy()]
            web = platform == PLATFORMS.index(OUTAGE_PLATFORM)
            dropped = web & (day >= scenario.start) & (rng.random(len(day)) < OUTAGE_LOSS)
        else:
            dropped = day > world.cal.end - LATE_DAYS
        return table.filter(pa.array(~dropped))
    if scenario.name == "schema_change" and name == SCHEMA_CHANGE[0]:
        _, column, renamed = SCHEMA_CHANGE
        return table.rename_columns([renamed if c == column else c for c in table.column_names])
    return table
