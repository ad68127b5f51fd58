"""Deterministic demo raw data for Baton: a SaaS customer base whose churn follows latent signals.

Every account carries hidden monthly states (engagement, payment trouble, frustration) that
drift over time. Churn hazard depends on those states in the month of churn, while the raw
tables only record noisy traces of them (daily usage, payment attempts, tickets), so a model
can learn real signal but cannot read the answer off the data.

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
(prices in `_monthly_price`, churn drivers in `_hazard_logit`, usage in `_usage_month`) or
how it gets recorded (drop, duplicate or delay rows in `_apply_scenario`, which sees each
table whole and usage one month at a time).

Memory: usage (about 320 daily rows per account over 24 months) is generated, recorded and
written one month at a time, and DuckDB puts the written months in account-major order under
its memory limit, so 1M accounts fit in a few GiB; the other tables are built one at a time.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.contract import CONTRACT
from pipeline.settings import duckdb_memory_limit

SCENARIOS = ("clean", "tracking_outage", "price_increase", "schema_change", "late_data")
TABLES = tuple(table.name for table in CONTRACT)
# The raw schema is the raw-data contract (pipeline/contract.py): the dbt sources read it.
SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    table.name: tuple((column.name, column.type) for column in table.columns) for table in CONTRACT
}

# Identifiers: prefix + 1-based number, zero-padded (wider numbers are kept whole).
ACCOUNT_ID_PREFIX, ACCOUNT_ID_WIDTH = "A", 6
SUBSCRIPTION_ID_PREFIX = "S"
INVOICE_ID_PREFIX = "INV"
PAYMENT_ID_PREFIX = "PAY"
TICKET_ID_PREFIX = "T"

NO_DAY = np.iinfo(np.int64).max // 2  # "never" for day-number arrays (cancel, change)
SECONDS_PER_DAY = 86_400
# Usage rows DuckDB puts in account-major order at once: more rows are ordered in blocks of
# accounts. Measured at 32M rows: blocks of 8M peak at 0.9 GiB, one sort at 2.8 GiB, same time.
USAGE_ROWS_PER_SORT = 8_000_000

# Customer base: the window starts with an existing base and adds a steady, seasonal inflow.
NEW_ACCOUNTS_PER_MONTH = 0.035  # new signups per month as a share of the starting base
EXISTING_TENURE_MEAN_DAYS = 600.0
EXISTING_TENURE_MAX_DAYS = 7 * 365
SIGNUP_SEASONALITY = (1.25, 1.05, 1.15, 1.0, 1.0, 0.9, 0.8, 0.75, 1.1, 1.15, 1.0, 0.7)

# Plans, seats and prices (list price per seat per month, USD).
PLANS = ("starter", "growth", "pro", "enterprise")
PLAN_SHARE = (0.42, 0.30, 0.18, 0.10)
LIST_PRICE_PER_SEAT = (15.0, 29.0, 49.0, 79.0)
SEATS_MEDIAN = (3.0, 12.0, 35.0, 180.0)
SEATS_SIGMA = (0.6, 0.6, 0.6, 0.7)
SEATS_MIN = (1, 3, 8, 40)
SEATS_MAX = (20, 80, 300, 2000)
ANNUAL_SHARE = (0.15, 0.30, 0.50, 0.75)
ANNUAL_DISCOUNT = 0.85
BILLING_PERIODS = ("monthly", "annual")
MONTHLY_PAYMENT_TERMS = 14  # days from invoice to due date
ANNUAL_PAYMENT_TERMS = 30
NEGOTIATED_PRICE_SIGMA = 0.15
RENEWAL_PRICE_INCREASE_PROB = 0.1
RENEWAL_PRICE_INCREASE = 1.08

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SEAT_CUTS = (15.0, 120.0)  # seat thresholds (on a noisy log scale) between segments
SEGMENT_NOISE = 0.5
SEGMENT_ENTERPRISE_PLAN_BONUS = 0.8  # enterprise-plan buyers lean to the Enterprise segment
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_SHARE = (0.45, 0.30, 0.15, 0.10)
REGION_PRICE = (1.05, 1.0, 0.95, 0.85)
REGION_PAYMENT_RISK = (1.0, 0.9, 1.2, 1.8)
PLATFORMS = ("web", "ios", "android")
PLATFORM_SHARE = (0.70, 0.18, 0.12)
PLATFORM_WEEKEND_ACTIVITY = (0.15, 0.35, 0.35)
PLATFORM_BUGGINESS = (1.0, 1.1, 1.4)

# Engagement: monthly mean-reverting walk with occasional shocks; usage observes it noisily.
ENGAGEMENT_MEAN = 0.3
ENGAGEMENT_SPREAD = 0.8
EXISTING_ENGAGEMENT_BONUS = 0.2  # survivors: today's base is more engaged than new signups
ENGAGEMENT_REVERSION = 0.2
ENGAGEMENT_STEP_SIGMA = 0.35
ENGAGEMENT_DROP_PROB = 0.035
ENGAGEMENT_DROP_SIZE = 1.0
ENGAGEMENT_LIFT_PROB = 0.02
ENGAGEMENT_LIFT_SIZE = 0.7
ONBOARDING_RAMP = (0.5, 1.5)  # new accounts start this far below their mean engagement
UTILIZATION_CAP_BETA = (4.0, 2.0)  # share of seats that could ever be active (x the max)
DAILY_ENGAGEMENT_NOISE = 0.35
EVENTS_PER_USER_MEDIAN = 25.0
EVENTS_PER_USER_SIGMA = 0.5  # between accounts
EVENTS_NOISE = 0.3  # between days

# Payment trouble: a two-state Markov chain per account, some accounts chronically affected.
TROUBLE_ENTER_PROB = 0.015
TROUBLE_STAY_PROB = 0.7
CHRONIC_TROUBLE_SHARE = 0.06
CHRONIC_TROUBLE_ENTER_PROB = 0.25
CHRONIC_TROUBLE_STAY_PROB = 0.8
INITIAL_TROUBLE_PROB = (0.04, 0.5)  # (ordinary, chronic) accounts at the window start
SMB_TROUBLE_RISK = 1.3  # relative chronic-trouble risk of SMB vs larger segments
FIRST_ATTEMPT_FAIL_PROB = (0.025, 0.7)  # (no trouble, trouble)
RETRY_FAIL_PROB = (0.3, 0.55)
MAX_PAYMENT_ATTEMPTS = 4
FIRST_ATTEMPT_DAYS = 2  # the first charge runs within this many days of the invoice
RETRY_AFTER_DAYS = (3, 6)  # [low, high) days between attempts

# Frustration: decaying level with random flare-ups; tickets observe it noisily.
FRUSTRATION_DECAY = 0.6
FRUSTRATION_FLARE_PROB = 0.06
FRUSTRATION_FLARE_MEAN = 1.5
INITIAL_FRUSTRATION_MEAN = 0.3
TICKETS_PER_MONTH_BASE = 0.6
TICKETS_CALM_LEVEL = 0.2  # tickets of an account without frustration, in frustration units
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_FRUSTRATION = 0.3
PRIORITY_ENTERPRISE = 0.3
PRIORITY_CUTS = (0.0, 1.3, 2.0)
CATEGORIES = ("bug", "billing", "how-to", "feature request")
CATEGORY_BASE_WEIGHT = (0.25, 0.10, 0.30, 0.25)
CATEGORY_DRIVER_WEIGHT = (0.25, 0.60, 0.40, 0.0)  # x (frustration, payment trouble, new, -)

# Churn hazard (logit per month for monthly billing; annual contracts decide at renewal).
HAZARD_BASE = -4.85
HAZARD_LOW_ENGAGEMENT = 0.9
HAZARD_DECLINE = 0.9
HAZARD_LOW_UTILIZATION = 1.2
HAZARD_UTILIZATION_PIVOT = 0.55
HAZARD_PAYMENT_TROUBLE = 2.0
HAZARD_FRUSTRATION = 0.6
HAZARD_PRICE = 1.5
HAZARD_ONBOARDING = 0.9
ONBOARDING_DAYS = 91
HAZARD_TENURE = -0.15
HAZARD_FRAILTY_SIGMA = 0.45
HAZARD_ANNUAL_RENEWAL_SHIFT = 2.0
HAZARD_ANNUAL_MIDTERM_SHIFT = -2.5  # early terminations of annual contracts are rare
HAZARD_SEASON = (0.35, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0, 0.15)
WIND_DOWN_PROB = (0.5, 0.3)  # (monthly, annual): churners who stop using the product first
WIND_DOWN_DAYS = (5, 40)

# Plan and seat changes.
UPGRADE_PROB = 0.004
DOWNGRADE_PROB = 0.003
PLAN_STEP_SHARE = 0.4  # share of changes that move plan rather than seats
UPGRADE_SEAT_RATIO = (1.2, 2.0)
DOWNGRADE_SEAT_RATIO = (0.5, 0.85)
UPGRADE_USER_GROWTH = 1.1  # an upgrade brings some new users along
CHANGE_ENGAGEMENT_SENSITIVITY = 1.0
CHANGE_MIN_TENURE_DAYS = 30
MAX_UTILIZATION_CAP = 0.95

# Scenarios (see the module docstring): where they start and how strong they are.
SCENARIO_MONTHS = 3  # default start: this many months before the end (the last 3 are affected)
OUTAGE_PLATFORM = "web"  # accounts whose usage records the broken tracker loses
OUTAGE_LOSS = 0.6  # share of their daily usage records lost from the start day on
PRICE_INCREASE_PLAN = "starter"
PRICE_INCREASE = 1.3  # list price multiplier of that plan from the start day on
PRICE_SHOCK_HAZARD = 1.0  # extra churn logit of raised, price-sensitive (SMB) accounts
LATE_DAYS = 5  # newest days of usage_daily missing in `late_data`
SCHEMA_CHANGE = ("usage_daily", "events", "event_count")  # table, column, new name

NAME_PREFIXES = (
    "North", "South", "East", "West", "Blue", "Red", "Green", "Silver", "Golden", "Iron",
    "Bright", "Clear", "Swift", "True", "Bold", "Summit", "River", "Lake", "Cedar", "Maple",
    "Oak", "Pine", "Stone", "Sun", "Star", "Moon", "Cloud", "Sky", "Harbor", "Bay",
    "Ridge", "Valley", "Falcon", "Eagle", "Fox", "Wolf", "Bear", "Lion", "Hawk", "Nova",
    "Polar", "Prime", "Quantum", "Atlas", "Apex", "Vertex", "Zen", "Pixel", "Cobalt", "Amber",
)  # fmt: skip
NAME_CORES = (
    "wind", "stone", "field", "bridge", "path", "line", "point", "gate", "works", "wave",
    "light", "bit", "mark", "shore", "crest", "forge", "leaf", "spring", "peak", "way",
    "stack", "loop", "scale", "core", "spark", "flow", "grid", "port", "view", "sight",
    "mint", "hive", "nest", "craft", "link", "base", "dock", "yard", "beam", "rock",
)  # fmt: skip
NAME_INDUSTRIES = (
    "Analytics", "Labs", "Systems", "Logistics", "Health", "Foods", "Media", "Capital",
    "Consulting", "Software", "Robotics", "Energy", "Retail", "Studios", "Networks",
    "Partners", "Solutions", "Dynamics", "Ventures", "Interactive", "Digital", "Security",
    "Bio", "Travel", "Education", "Finance", "Insurance", "Realty", "Manufacturing",
    "Apparel", "Motors", "Pharma", "Telecom", "Games", "Design", "Legal", "Marketing",
    "Supply", "Clinics", "Farms", "Aerospace", "Marine", "Textiles", "Data", "Cloud",
    "Payments", "Learning", "Fitness", "Brewing", "Outdoors",
)  # fmt: skip
NAME_LEGAL_FORMS = ("", " Inc", " Co", " Group", " Ltd", " & Co")


@dataclass(frozen=True)
class Calendar:
    """The data window as day numbers (days since 1970-01-01), split into calendar months."""

    month_starts: np.ndarray  # first day of each month
    month_ends: np.ndarray  # last day of each month, capped at the window end

    @property
    def start(self) -> int:
        """First day of the window."""
        return int(self.month_starts[0])

    @property
    def end(self) -> int:
        """Last day of the window (inclusive)."""
        return int(self.month_ends[-1])

    @property
    def months(self) -> int:
        """Number of calendar months in the window."""
        return len(self.month_starts)

    def calendar_month(self, m: int) -> int:
        """Calendar month (0 = January) of window month `m`, for seasonality."""
        month = np.datetime64(int(self.month_starts[m]), "D").astype("datetime64[M]")
        return int(month.astype(np.int64)) % 12


@dataclass(frozen=True)
class Scenario:
    """A demo scenario: its name and its first affected day (day number)."""

    name: str = "clean"
    start: int = NO_DAY

    @property
    def raises_prices(self) -> bool:
        """True when the starter plan gets more expensive from `start` on."""
        return self.name == "price_increase"


@dataclass(frozen=True)
class Accounts:
    """Static account attributes, observable ones and hidden traits, indexed 0..n-1."""

    signup: np.ndarray
    plan: np.ndarray
    seats: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    platform: np.ndarray
    annual: np.ndarray
    price_factor: np.ndarray  # negotiated price relative to list, including region
    engagement_mean: np.ndarray
    utilization_cap: np.ndarray
    frailty: np.ndarray
    chronic_trouble: np.ndarray
    events_per_user: np.ndarray


@dataclass(frozen=True)
class Simulation:
    """Monthly latent histories and the subscription timeline produced by the simulation."""

    engagement: np.ndarray  # (n, months + 1): column j is the level at the end of month j - 1
    trouble: np.ndarray  # (n, months) bool
    frustration: np.ndarray  # (n, months)
    seats_before: np.ndarray  # (n, months) seats at month start
    seats_after: np.ndarray  # (n, months) seats from change_day on
    cap_before: np.ndarray  # (n, months)
    cap_after: np.ndarray  # (n, months)
    change_day: np.ndarray  # (n, months) day of a seat/plan change, NO_DAY if none
    cancel_day: np.ndarray  # (n,) ended_at of the cancelled subscription, NO_DAY if active
    usage_stop_day: np.ndarray  # (n,) first day without usage (wind-down), NO_DAY if none
    seg_account: np.ndarray  # subscription rows, sorted by account then start
    seg_start: np.ndarray
    seg_plan: np.ndarray
    seg_seats: np.ndarray
    seg_mrr: np.ndarray


@dataclass(frozen=True)
class World:
    """The simulated customer base, the chosen scenario and the random streams of the tables."""

    cal: Calendar
    acc: Accounts
    sim: Simulation
    scenario: Scenario
    rng: dict[str, np.random.Generator]


def generate(
    path: Path,
    customers: int = 5000,
    months: int = 24,
    seed: int = 42,
    end: date = date(2026, 9, 30),
    scenario: str = "clean",
    scenario_start: date | None = None,
) -> dict[str, int]:
    """Write the demo raw tables into a fresh DuckDB file at `path`; return row counts per table."""
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be positive")
    world = _world(customers, months, seed, end, scenario, scenario_start)
    tables, usage, accounts = _tables(world), _usage_months(world), len(world.acc.signup)
    del world  # the simulation is freed once usage is staged, before DuckDB orders it
    return _write_duckdb(Path(path), tables, usage, accounts)


def default_scenario_start(end: date, months_before: int = SCENARIO_MONTHS) -> date:
    """First day of the month `months_before` months before the end (the last ones affected)."""
    month = np.datetime64(end, "M") - (months_before - 1)
    return date.fromisoformat(str(month.astype("datetime64[D]")))


def _world(
    customers: int,
    months: int,
    seed: int,
    end: date,
    scenario: str = "clean",
    scenario_start: date | None = None,
) -> World:
    """Simulate the customer base; the raw tables are drawn from it later, one at a time."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown demo scenario {scenario!r}; expected one of {SCENARIOS}")
    # One more stream than the tables need: the scenario's own draws never shift theirs.
    streams = np.random.SeedSequence(seed).spawn(len(TABLES) + 2)
    rng = dict(
        zip(
            ("simulation", *TABLES, "scenario"),
            (np.random.default_rng(s) for s in streams),
            strict=True,
        )
    )
    cal = _calendar(end, months)
    start = (scenario_start or default_scenario_start(end)).replace(day=1)
    chosen = Scenario(scenario, int(np.datetime64(start, "D").astype(np.int64)))
    acc = _accounts(cal, customers, rng["accounts"])
    sim = _simulate(cal, acc, rng["simulation"], chosen)
    return World(cal=cal, acc=acc, sim=sim, scenario=chosen, rng=rng)


def _tables(world: World) -> Iterator[tuple[str, pa.Table]]:
    """Every raw table but usage, as recorded, built one at a time so only one is in memory."""
    cal, acc, sim, rng = world.cal, world.acc, world.sim, world.rng
    n = len(acc.signup)
    invoices = _invoice_rows(cal, acc, sim)
    builders: dict[str, Callable[[], pa.Table]] = {
        "accounts": lambda: _accounts_table(acc, rng["accounts"]),
        "subscriptions": lambda: _subscriptions_table(acc, sim),
        "invoices": lambda: _invoices_table(invoices, n),
        "payments": lambda: _payments_table(cal, sim, invoices, n, rng["payments"]),
        "tickets": lambda: _tickets_table(cal, acc, sim, rng["tickets"]),
    }
    for name, build in builders.items():
        yield name, _apply_scenario(name, build(), world)


def _usage_months(world: World) -> Iterator[pa.Table]:
    """Daily usage as recorded, one month at a time, each month ordered by account then day.

    Rows carry the 0-based account index in `account` (the writer orders by it and turns it
    into `account_id`), so a month costs four int32 columns in memory.
    """
    for m in range(world.cal.months):
        account, day, users, events = _usage_month(
            world.cal, m, world.acc, world.sim, world.rng["usage_daily"]
        )
        month = pa.table(
            {
                "account": account,
                "usage_date": _dates(day),
                "active_users": users,
                "events": events,
            }
        )
        yield _apply_scenario("usage_daily", month, world)


def _apply_scenario(name: str, table: pa.Table, world: World) -> pa.Table:
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


def _calendar(end: date, months: int) -> Calendar:
    """The `months` calendar months ending on `end` (inclusive)."""
    last_month = np.datetime64(end, "M")
    firsts = np.arange(last_month - months + 1, last_month + 2).astype("datetime64[D]")
    days = firsts.astype(np.int64)
    month_ends = days[1:] - 1
    month_ends[-1] = np.datetime64(end, "D").astype(np.int64)
    return Calendar(month_starts=days[:-1], month_ends=month_ends)


def _add_months(days: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """Shift day numbers by k calendar months, clamping to the month's last day (Jan 31 + 1)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(k, dtype=np.int64)
    target_first = target.astype("datetime64[D]").astype(np.int64)
    target_len = (target + 1).astype("datetime64[D]").astype(np.int64) - target_first
    return target_first + np.minimum(day_of_month, target_len - 1)


def _month_index(cal: Calendar, days: np.ndarray) -> np.ndarray:
    """Window month index (0..months-1) of each day number inside the window."""
    return np.searchsorted(cal.month_starts, days, side="right") - 1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, probs: tuple[float, ...], n: int) -> np.ndarray:
    """Draw n category codes (int8) with the given probabilities."""
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / sum(probs)).astype(np.int8)


def _pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Draw one category per row from a (rows, categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1).astype(np.int8)


def _signup_days(cal: Calendar, customers: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted signup days: an existing base before the window, then a seasonal inflow."""
    existing = max(1, round(customers / (1 + NEW_ACCOUNTS_PER_MONTH * cal.months)))
    existing = min(existing, customers)
    # Exponential tenure truncated at the maximum (inverse CDF), so no pile-up at the cap.
    tail = 1.0 - np.exp(-EXISTING_TENURE_MAX_DAYS / EXISTING_TENURE_MEAN_DAYS)
    tenure = -EXISTING_TENURE_MEAN_DAYS * np.log1p(-tail * rng.random(existing))
    tenure = np.ceil(tenure).astype(np.int64)
    before = cal.start - tenure
    season = np.array([SIGNUP_SEASONALITY[cal.calendar_month(m)] for m in range(cal.months)])
    lengths = cal.month_ends - cal.month_starts + 1
    month = rng.choice(
        cal.months, size=customers - existing, p=season * lengths / (season * lengths).sum()
    )
    during = cal.month_starts[month] + (rng.random(len(month)) * lengths[month]).astype(np.int64)
    return np.sort(np.concatenate([before, during]))


def _accounts(cal: Calendar, customers: int, rng: np.random.Generator) -> Accounts:
    """Draw account attributes; plan, seats, segment, price and billing are correlated."""
    signup = _signup_days(cal, customers, rng)
    n = len(signup)
    plan = _choice(rng, PLAN_SHARE, n)
    log_seats = (
        np.log(np.asarray(SEATS_MEDIAN)[plan]) + rng.normal(size=n) * np.asarray(SEATS_SIGMA)[plan]
    )
    seats = np.clip(
        np.round(np.exp(log_seats)), np.asarray(SEATS_MIN)[plan], np.asarray(SEATS_MAX)[plan]
    ).astype(np.int32)
    segment_score = (
        np.log(seats)
        + SEGMENT_ENTERPRISE_PLAN_BONUS * (plan == PLANS.index("enterprise"))
        + rng.normal(0.0, SEGMENT_NOISE, n)
    )
    segment = np.searchsorted(np.log(SEGMENT_SEAT_CUTS), segment_score).astype(np.int8)
    region = _choice(rng, REGION_SHARE, n)
    platform = _choice(rng, PLATFORM_SHARE, n)
    annual = rng.random(n) < np.asarray(ANNUAL_SHARE)[plan]
    price_factor = np.asarray(REGION_PRICE)[region] * np.exp(
        rng.normal(0.0, NEGOTIATED_PRICE_SIGMA, n)
    )
    existing = signup < cal.start
    engagement_mean = (
        ENGAGEMENT_MEAN
        + ENGAGEMENT_SPREAD * rng.normal(size=n)
        + EXISTING_ENGAGEMENT_BONUS * existing
    )
    trouble_risk = np.asarray(REGION_PAYMENT_RISK)[region] * np.where(
        segment == 0, SMB_TROUBLE_RISK, 1.0
    )
    chronic_trouble = rng.random(n) < CHRONIC_TROUBLE_SHARE * trouble_risk
    return Accounts(
        signup=signup,
        plan=plan,
        seats=seats,
        segment=segment,
        region=region,
        platform=platform,
        annual=annual,
        price_factor=price_factor,
        engagement_mean=engagement_mean,
        utilization_cap=MAX_UTILIZATION_CAP * rng.beta(*UTILIZATION_CAP_BETA, n),
        frailty=rng.normal(0.0, HAZARD_FRAILTY_SIGMA, n),
        chronic_trouble=chronic_trouble,
        events_per_user=EVENTS_PER_USER_MEDIAN * np.exp(rng.normal(0.0, EVENTS_PER_USER_SIGMA, n)),
    )


def _monthly_price(
    plan: np.ndarray,
    factor: np.ndarray,
    annual: np.ndarray,
    start: np.ndarray | None = None,
    scenario: Scenario | None = None,
) -> np.ndarray:
    """Per-seat monthly price: list price x negotiated factor, discounted for annual billing.

    Under `price_increase`, rows of the raised plan starting on or after the scenario start
    pay the higher list price.
    """
    price = np.asarray(LIST_PRICE_PER_SEAT)[plan] * factor * np.where(annual, ANNUAL_DISCOUNT, 1.0)
    if scenario is not None and scenario.raises_prices and start is not None:
        raised = (plan == PLANS.index(PRICE_INCREASE_PLAN)) & (start >= scenario.start)
        price = np.where(raised, price * PRICE_INCREASE, price)
    return price


def _next_term_end(start: np.ndarray, after: int) -> np.ndarray:
    """Last day of the first annual term (from `start`) that ends on or after day `after`."""
    months_elapsed = (
        np.asarray(after).astype("datetime64[D]").astype("datetime64[M]")
        - start.astype("datetime64[D]").astype("datetime64[M]")
    ).astype(np.int64)
    terms = np.maximum(1, months_elapsed // 12)
    term_end = _add_months(start, 12 * terms) - 1
    late = term_end < after
    term_end[late] = _add_months(start[late], 12 * (terms[late] + 1)) - 1
    return term_end


def _step_engagement(
    e: np.ndarray, acc: Accounts, live: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One month of the engagement walk: reversion to the account mean, noise and shocks."""
    n = len(e)
    shock = np.where(
        rng.random(n) < ENGAGEMENT_DROP_PROB, -ENGAGEMENT_DROP_SIZE * rng.exponential(1.0, n), 0.0
    ) + np.where(rng.random(n) < ENGAGEMENT_LIFT_PROB, ENGAGEMENT_LIFT_SIZE, 0.0)
    step = (
        ENGAGEMENT_REVERSION * (acc.engagement_mean - e)
        + ENGAGEMENT_STEP_SIGMA * rng.normal(size=n)
        + shock
    )
    return np.where(live, e + step, e)


def _step_trouble(
    trouble: np.ndarray, acc: Accounts, live: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One month of the payment-trouble Markov chain."""
    enter = np.where(
        acc.chronic_trouble,
        CHRONIC_TROUBLE_ENTER_PROB,
        TROUBLE_ENTER_PROB * np.asarray(REGION_PAYMENT_RISK)[acc.region],
    )
    stay = np.where(acc.chronic_trouble, CHRONIC_TROUBLE_STAY_PROB, TROUBLE_STAY_PROB)
    u = rng.random(len(trouble))
    return live & np.where(trouble, u < stay, u < enter)


def _step_frustration(
    f: np.ndarray, acc: Accounts, live: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One month of frustration: decay plus flare-ups (bugs, outages), more on buggy platforms."""
    n = len(f)
    flare_prob = FRUSTRATION_FLARE_PROB * np.asarray(PLATFORM_BUGGINESS)[acc.platform]
    flare = np.where(rng.random(n) < flare_prob, rng.exponential(FRUSTRATION_FLARE_MEAN, n), 0.0)
    return np.where(live, FRUSTRATION_DECAY * f + flare, f)


def _hazard_logit(
    cal: Calendar,
    m: int,
    acc: Accounts,
    e_now: np.ndarray,
    e_before: np.ndarray,
    cap: np.ndarray,
    trouble: np.ndarray,
    frustration: np.ndarray,
    price_factor: np.ndarray,
    raised: np.ndarray | None = None,
) -> np.ndarray:
    """Monthly churn logit from this month's latent states (mostly unseen before the month).

    `raised` marks accounts whose price a `price_increase` scenario raised: they feel the
    higher price, and price-sensitive (SMB) ones churn markedly more.
    """
    if raised is not None:
        price_factor = np.where(raised, price_factor * PRICE_INCREASE, price_factor)
        shock = PRICE_SHOCK_HAZARD * (raised & (acc.segment == SEGMENTS.index("SMB")))
    else:
        shock = np.zeros(len(price_factor))
    tenure = np.maximum(0, cal.month_starts[m] - acc.signup)
    utilization = cap * _sigmoid(e_now)
    own_price = price_factor / np.asarray(REGION_PRICE)[acc.region]
    return (
        HAZARD_BASE
        + HAZARD_LOW_ENGAGEMENT * (ENGAGEMENT_MEAN - e_now)
        + HAZARD_DECLINE * np.maximum(0.0, e_before - e_now)
        + HAZARD_LOW_UTILIZATION * (HAZARD_UTILIZATION_PIVOT - utilization)
        + HAZARD_PAYMENT_TROUBLE * trouble
        + HAZARD_FRUSTRATION * frustration
        + HAZARD_PRICE * np.log(own_price)
        + HAZARD_ONBOARDING * (tenure < ONBOARDING_DAYS)
        + HAZARD_TENURE * np.log1p(tenure / 365.0)
        + HAZARD_SEASON[cal.calendar_month(m)]
        + acc.frailty
        + shock
    )


def _simulate(
    cal: Calendar, acc: Accounts, rng: np.random.Generator, scenario: Scenario | None = None
) -> Simulation:
    """Run the monthly latent-state simulation: churn, wind-down, plan and seat changes."""
    scenario = scenario or Scenario()
    raised_plan = PLANS.index(PRICE_INCREASE_PLAN)
    n, months = len(acc.signup), cal.months
    existing = acc.signup < cal.start
    stationary_sd = ENGAGEMENT_STEP_SIGMA / np.sqrt(1 - (1 - ENGAGEMENT_REVERSION) ** 2)
    e = np.where(
        existing,
        acc.engagement_mean + stationary_sd * rng.normal(size=n),
        acc.engagement_mean - rng.uniform(*ONBOARDING_RAMP, n),
    )
    initial_trouble = np.where(
        acc.chronic_trouble, INITIAL_TROUBLE_PROB[1], INITIAL_TROUBLE_PROB[0]
    )
    trouble = existing & (rng.random(n) < initial_trouble)
    frustration = np.where(existing, rng.exponential(INITIAL_FRUSTRATION_MEAN, n), 0.0)

    engagement = np.empty((n, months + 1))
    engagement[:, 0] = e
    trouble_hist = np.zeros((n, months), dtype=bool)
    frustration_hist = np.zeros((n, months))
    seats_before = np.zeros((n, months), dtype=np.int32)
    seats_after = np.zeros((n, months), dtype=np.int32)
    cap_before = np.zeros((n, months))
    cap_after = np.zeros((n, months))
    change_day = np.full((n, months), NO_DAY, dtype=np.int64)

    cancel = np.full(n, NO_DAY, dtype=np.int64)
    stop = np.full(n, NO_DAY, dtype=np.int64)
    plan = acc.plan.copy()
    seats = acc.seats.copy()
    cap = acc.utilization_cap.copy()
    factor = acc.price_factor.copy()
    start = acc.signup.copy()
    term_end = np.where(acc.annual, _next_term_end(start, cal.start), NO_DAY)
    segments: list[tuple[np.ndarray, ...]] = [
        (np.arange(n), acc.signup.copy(), plan.copy(), seats.copy(), factor.copy())
    ]
    raised = np.zeros(n, dtype=bool)  # price_increase: accounts paying the raised price

    for m in range(months):
        first, last = int(cal.month_starts[m]), int(cal.month_ends[m])
        # price_increase: monthly accounts of the raised plan are told this month and pay the
        # new price from their next invoice (same billing day) on.
        pending = np.zeros(n, dtype=bool)
        if scenario.raises_prices and first <= scenario.start <= last:
            pending = (acc.signup < scenario.start) & (cancel == NO_DAY) & ~acc.annual
            pending &= plan == raised_plan
        live = (acc.signup <= last) & (cancel == NO_DAY)
        e = _step_engagement(e, acc, live, rng)
        trouble = _step_trouble(trouble, acc, live, rng)
        frustration = _step_frustration(frustration, acc, live, rng)
        engagement[:, m + 1] = e
        trouble_hist[:, m] = trouble
        frustration_hist[:, m] = frustration
        seats_before[:, m] = seats
        cap_before[:, m] = cap

        at_risk = (acc.signup < first) & (cancel == NO_DAY)
        logit = _hazard_logit(
            cal, m, acc, e, engagement[:, max(m - 1, 0)], cap, trouble, frustration, factor,
            raised | pending if scenario.raises_prices else None,
        )  # fmt: skip
        renewing = acc.annual & (term_end <= last)
        prob = np.where(
            acc.annual,
            _sigmoid(
                logit + np.where(renewing, HAZARD_ANNUAL_RENEWAL_SHIFT, HAZARD_ANNUAL_MIDTERM_SHIFT)
            ),
            _sigmoid(logit),
        )
        churn = at_risk & (rng.random(n) < prob)
        day = first + (rng.random(n) * (last - first + 1)).astype(np.int64)
        cancel = np.where(churn, np.where(renewing, term_end, day), cancel)
        wind_down_prob = np.where(acc.annual, WIND_DOWN_PROB[1], WIND_DOWN_PROB[0])
        wind_down = churn & (rng.random(n) < wind_down_prob)
        lead = rng.integers(WIND_DOWN_DAYS[0], WIND_DOWN_DAYS[1] + 1, n)
        stop = np.where(churn, np.where(wind_down, cancel - lead, cancel), stop)
        if pending.any():
            month_gap = _months_since_epoch(np.array([first])) - _months_since_epoch(start)
            new_start = _add_months(start, month_gap)
            hit = pending & ((cancel == NO_DAY) | (cancel >= new_start))
            start = np.where(hit, new_start, start)
            idx = np.flatnonzero(hit)
            segments.append((idx, start[idx], plan[idx], seats[idx], factor[idx]))
            raised |= hit

        # Renewals that continue may carry a price increase (a new subscription row).
        renewed = at_risk & renewing & ~churn
        raise_price = renewed & (rng.random(n) < RENEWAL_PRICE_INCREASE_PROB)
        raise_price &= term_end + 1 <= cal.end
        # price_increase: annual accounts of the raised plan pay the new price from renewal.
        new_list_price = np.zeros(n, dtype=bool)
        if scenario.raises_prices:
            new_list_price = renewed & ~raised & (plan == raised_plan)
            new_list_price &= (term_end + 1 >= scenario.start) & (term_end + 1 <= cal.end)
        new_row = raise_price | new_list_price
        if new_row.any():
            factor = np.where(raise_price, factor * RENEWAL_PRICE_INCREASE, factor)
            start = np.where(new_row, term_end + 1, start)
            idx = np.flatnonzero(new_row)
            segments.append((idx, start[idx], plan[idx], seats[idx], factor[idx]))
        raised |= new_list_price
        term_end = np.where(
            new_row,
            _add_months(start, 12) - 1,
            np.where(renewed, _next_term_end(start, last + 1), term_end),
        )

        plan, seats, cap, start, term_end = _change_plans(
            acc, m, e, at_risk & ~churn & ~pending & (first - start > CHANGE_MIN_TENURE_DAYS), day,
            plan, seats, cap, factor, start, term_end, segments, change_day, rng,
        )  # fmt: skip
        raised &= plan == raised_plan
        seats_after[:, m] = seats
        cap_after[:, m] = cap

    seg = [np.concatenate(parts) for parts in zip(*segments, strict=True)]
    order = np.lexsort((seg[1], seg[0]))
    seg_account, seg_start, seg_plan, seg_seats, seg_factor = (part[order] for part in seg)
    seg_price = _monthly_price(seg_plan, seg_factor, acc.annual[seg_account], seg_start, scenario)
    return Simulation(
        engagement=engagement,
        trouble=trouble_hist,
        frustration=frustration_hist,
        seats_before=seats_before,
        seats_after=seats_after,
        cap_before=cap_before,
        cap_after=cap_after,
        change_day=change_day,
        cancel_day=cancel,
        usage_stop_day=stop,
        seg_account=seg_account,
        seg_start=seg_start,
        seg_plan=seg_plan,
        seg_seats=seg_seats.astype(np.int32),
        seg_mrr=np.round(seg_price * seg_seats, 2),
    )


def _change_plans(
    acc: Accounts,
    m: int,
    e: np.ndarray,
    eligible: np.ndarray,
    day: np.ndarray,
    plan: np.ndarray,
    seats: np.ndarray,
    cap: np.ndarray,
    factor: np.ndarray,
    start: np.ndarray,
    term_end: np.ndarray,
    segments: list[tuple[np.ndarray, ...]],
    change_day: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upgrades (engaged accounts) and downgrades (disengaged ones) as new subscription rows."""
    n = len(e)
    gap = e - acc.engagement_mean
    p_up = UPGRADE_PROB * np.exp(CHANGE_ENGAGEMENT_SENSITIVITY * gap)
    p_down = DOWNGRADE_PROB * np.exp(-CHANGE_ENGAGEMENT_SENSITIVITY * gap)
    u = rng.random(n)
    up = eligible & (u < p_up)
    down = eligible & ~up & (u < p_up + p_down) & ((seats > 1) | (plan > 0))
    plan_step = rng.random(n) < PLAN_STEP_SHARE
    new_plan = plan.copy()
    new_plan[up & plan_step & (plan < len(PLANS) - 1)] += 1
    # A plan downgrade only when the seats fit the smaller plan; otherwise seats go down.
    fits_lower = seats <= np.asarray(SEATS_MAX)[np.maximum(plan - 1, 0)]
    new_plan[down & plan_step & (plan > 0) & fits_lower] -= 1
    plan_moved = new_plan != plan
    ratio = np.where(up, rng.uniform(*UPGRADE_SEAT_RATIO, n), rng.uniform(*DOWNGRADE_SEAT_RATIO, n))
    new_seats = np.where(
        plan_moved,
        np.maximum(seats, np.asarray(SEATS_MIN)[new_plan]),
        np.where(
            up | down, np.clip(np.round(seats * ratio), 1, np.asarray(SEATS_MAX)[plan]), seats
        ),
    ).astype(np.int32)
    changed = plan_moved | (new_seats != seats)
    if not changed.any():
        return plan, seats, cap, start, term_end
    # The people using the product stay the same, so utilization capacity scales inversely.
    growth = np.where(up, UPGRADE_USER_GROWTH, 1.0)
    new_cap = np.minimum(MAX_UTILIZATION_CAP, cap * seats / new_seats * growth)
    new_start = np.where(changed, day, start)
    new_term_end = np.where(changed & acc.annual, _add_months(day, 12) - 1, term_end)
    idx = np.flatnonzero(changed)
    segments.append((idx, day[idx], new_plan[idx], new_seats[idx], factor[idx]))
    change_day[idx, m] = day[idx]
    return new_plan, new_seats, new_cap, new_start, new_term_end


def _accounts_table(acc: Accounts, rng: np.random.Generator) -> pa.Table:
    """The accounts table: static attributes as of signup."""
    n = len(acc.signup)
    return pa.table(
        {
            "account_id": _account_ids(np.arange(n), n),
            "account_name": pa.array(_company_names(n, rng), type=pa.string()),
            "signup_date": _dates(acc.signup),
            "plan": _labels(PLANS, acc.plan),
            "segment": _labels(SEGMENTS, acc.segment),
            "region": _labels(REGIONS, acc.region),
            "seats": acc.seats.astype(np.int32),
            "platform": _labels(PLATFORMS, acc.platform),
        }
    )


def _company_names(n: int, rng: np.random.Generator) -> list[str]:
    """Unique fake company names like "Northwind Analytics Inc"; numbered beyond the name space."""
    sizes = (len(NAME_PREFIXES), len(NAME_CORES), len(NAME_INDUSTRIES), len(NAME_LEGAL_FORMS))
    space = int(np.prod(sizes))
    codes = rng.choice(space, size=min(n, space), replace=False)
    parts = np.unravel_index(codes, sizes)
    names = [
        f"{NAME_PREFIXES[a]}{NAME_CORES[b]} {NAME_INDUSTRIES[c]}{NAME_LEGAL_FORMS[d]}"
        for a, b, c, d in zip(*(p.tolist() for p in parts), strict=True)
    ]
    names += [f"{names[i % space]} {i // space + 1}" for i in range(space, n)]
    return names


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded identifiers such as INV00000042 (never truncated beyond `width`)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _account_ids(account: np.ndarray, n: int) -> pa.Array:
    """Account ids for 0-based account indices, dictionary-encoded to keep big tables cheap."""
    dictionary = _ids(ACCOUNT_ID_PREFIX, np.arange(1, n + 1), ACCOUNT_ID_WIDTH)
    return pa.DictionaryArray.from_arrays(pa.array(account, type=pa.int32()), dictionary)


def _labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Category codes to a (dictionary-encoded) string column."""
    return pa.DictionaryArray.from_arrays(
        pa.array(codes, type=pa.int8()), pa.array(values, type=pa.string())
    )


def _dates(days: np.ndarray) -> pa.Array:
    """Day numbers to a DATE column."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).view(pa.date32())


def _timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds since the epoch to a TIMESTAMP column."""
    micros = np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pa.array(micros, type=pa.int64()).view(pa.timestamp("us"))


def _segment_ends(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """Per subscription row: ended_at (NO_DAY if open) and whether the next row replaces it."""
    replaced = np.zeros(len(sim.seg_account), dtype=bool)
    replaced[:-1] = sim.seg_account[1:] == sim.seg_account[:-1]
    ended = np.where(replaced, np.roll(sim.seg_start, -1) - 1, sim.cancel_day[sim.seg_account])
    return ended, replaced


def _subscriptions_table(acc: Accounts, sim: Simulation) -> pa.Table:
    """The subscriptions table: one row per plan/seat/price period, the last open or cancelled."""
    ended, replaced = _segment_ends(sim)
    status = np.where(replaced, 1, np.where(ended == NO_DAY, 0, 2))
    open_row = ended == NO_DAY
    ended_at = pa.array(np.where(open_row, 0, ended), type=pa.int32(), mask=open_row)
    rows = len(sim.seg_account)
    return pa.table(
        {
            "subscription_id": _ids(SUBSCRIPTION_ID_PREFIX, np.arange(1, rows + 1), 7),
            "account_id": _account_ids(sim.seg_account, len(acc.signup)),
            "plan": _labels(PLANS, sim.seg_plan),
            "billing_period": _labels(BILLING_PERIODS, acc.annual[sim.seg_account]),
            "seats": sim.seg_seats,
            "mrr": sim.seg_mrr,
            "started_at": _dates(sim.seg_start),
            "ended_at": ended_at.view(pa.date32()),
            "status": _labels(("active", "changed", "cancelled"), status),
        }
    )


def _usage_month(
    cal: Calendar, m: int, acc: Accounts, sim: Simulation, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One month of usage rows (account, day, active users, events), account-major."""
    first, last = int(cal.month_starts[m]), int(cal.month_ends[m])
    idx = np.flatnonzero((acc.signup <= last) & (sim.usage_stop_day > first))
    days = np.arange(first, last + 1)
    month_len = int(_add_months(np.array([first]), 1)[0]) - first
    frac = ((days - first + 1) / month_len).astype(np.float32)
    # (account, day) matrices; engagement moves linearly from last month's level to this one's.
    e_from = sim.engagement[idx, m].astype(np.float32)
    e_to = sim.engagement[idx, m + 1].astype(np.float32)
    e_day = e_from[:, None] + (e_to - e_from)[:, None] * frac
    e_day += DAILY_ENGAGEMENT_NOISE * rng.standard_normal(e_day.shape, dtype=np.float32)
    after = days >= sim.change_day[idx, m, None]
    cap = np.where(after, sim.cap_after[idx, m, None], sim.cap_before[idx, m, None])
    seats = np.where(after, sim.seats_after[idx, m, None], sim.seats_before[idx, m, None])
    weekend = ((days + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    weekend_activity = np.asarray(PLATFORM_WEEKEND_ACTIVITY, dtype=np.float32)[acc.platform[idx]]
    day_factor = np.where(weekend, weekend_activity[:, None], np.float32(1.0))
    p = cap * _sigmoid(e_day) * day_factor
    on = (days >= acc.signup[idx, None]) & (days < sim.usage_stop_day[idx, None])
    a_pos, d_pos = np.nonzero(on)
    users = rng.binomial(seats[on], p[on].astype(np.float64))
    keep = users > 0
    account, day, users = idx[a_pos[keep]], days[d_pos[keep]], users[keep]
    noise = np.exp(EVENTS_NOISE * rng.standard_normal(len(users), dtype=np.float32))
    events = np.maximum(users, np.round(users * acc.events_per_user[account] * noise))
    return (
        account.astype(np.int32),
        day.astype(np.int32),
        users.astype(np.int32),
        events.astype(np.int32),
    )


def _invoice_rows(cal: Calendar, acc: Accounts, sim: Simulation) -> dict[str, np.ndarray]:
    """Invoices on each billing anniversary of every subscription row inside the window."""
    ended, replaced = _segment_ends(sim)
    # Billing stops the day a row is replaced or cancelled; open rows bill until the window end.
    stop = np.where(replaced, ended + 1, np.where(ended == NO_DAY, cal.end + 1, ended))
    stop = np.minimum(stop, cal.end + 1)
    period = np.where(acc.annual[sim.seg_account], 12, 1)
    month = _months_since_epoch(sim.seg_start)
    first_k = np.maximum(0, (_months_since_epoch(np.array([cal.start])) - month - 1) // period)
    last_k = (_months_since_epoch(stop) - month) // period
    counts = np.maximum(0, last_k - first_k + 1)
    row = np.repeat(np.arange(len(counts)), counts)
    k = first_k[row] + np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    day = _add_months(sim.seg_start[row], k * period[row])
    keep = (day >= cal.start) & (day < stop[row])
    row, day = row[keep], day[keep]
    order = np.lexsort((sim.seg_account[row], day))
    row, day = row[order], day[order]
    return {
        "account": sim.seg_account[row],
        "day": day,
        "due_day": day + np.where(period[row] == 12, ANNUAL_PAYMENT_TERMS, MONTHLY_PAYMENT_TERMS),
        "amount": np.round(sim.seg_mrr[row] * period[row], 2),
    }


def _months_since_epoch(days: np.ndarray) -> np.ndarray:
    """Calendar month number (months since 1970-01) of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _invoices_table(invoices: dict[str, np.ndarray], n: int) -> pa.Table:
    """The invoices table."""
    rows = len(invoices["day"])
    return pa.table(
        {
            "invoice_id": _ids(INVOICE_ID_PREFIX, np.arange(1, rows + 1), 8),
            "account_id": _account_ids(invoices["account"], n),
            "invoice_date": _dates(invoices["day"]),
            "due_date": _dates(invoices["due_day"]),
            "amount": invoices["amount"],
        }
    )


def _payments_table(
    cal: Calendar,
    sim: Simulation,
    invoices: dict[str, np.ndarray],
    n: int,
    rng: np.random.Generator,
) -> pa.Table:
    """Payment attempts per invoice; failures (frequent in payment trouble) retry days later."""
    account, amount, day = invoices["account"], invoices["amount"], invoices["day"]
    invoice = np.arange(len(day))
    in_trouble = sim.trouble[account, _month_index(cal, day)].astype(int)
    when = day * SECONDS_PER_DAY + rng.integers(0, FIRST_ATTEMPT_DAYS * SECONDS_PER_DAY, len(day))
    pending = np.ones(len(day), dtype=bool)
    parts: list[tuple[np.ndarray, ...]] = []
    for attempt in range(MAX_PAYMENT_ATTEMPTS):
        fail_prob = np.asarray(FIRST_ATTEMPT_FAIL_PROB if attempt == 0 else RETRY_FAIL_PROB)
        pending &= when < (cal.end + 1) * SECONDS_PER_DAY
        failed = rng.random(len(day)) < fail_prob[in_trouble]
        idx = np.flatnonzero(pending)
        parts.append((invoice[idx], when[idx], failed[idx]))
        pending &= failed
        low, high = (days * SECONDS_PER_DAY for days in RETRY_AFTER_DAYS)
        delay = rng.integers(low, high, len(day))
        when = when + delay
    inv, ts, failed = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.lexsort((inv, ts))
    inv, ts, failed = inv[order], ts[order], failed[order]
    return pa.table(
        {
            "payment_id": _ids(PAYMENT_ID_PREFIX, np.arange(1, len(inv) + 1), 8),
            "invoice_id": _ids(INVOICE_ID_PREFIX, inv + 1, 8),
            "account_id": _account_ids(account[inv], n),
            "attempted_at": _timestamps(ts),
            "amount": amount[inv],
            "status": _labels(("succeeded", "failed"), failed),
        }
    )


def _tickets_table(
    cal: Calendar, acc: Accounts, sim: Simulation, rng: np.random.Generator
) -> pa.Table:
    """Support tickets: volume grows with size and frustration, and so do urgency and bugs."""
    size = 0.5 + 0.5 * np.log10(acc.seats)  # a 10-seat account files 1x, 1,000 seats 2x
    parts: list[tuple[np.ndarray, ...]] = []
    for m in range(cal.months):
        first, last = int(cal.month_starts[m]), int(cal.month_ends[m])
        span_from = np.maximum(first, acc.signup)
        span_to = np.minimum(last + 1, sim.cancel_day)
        live = np.flatnonzero(span_to > span_from)
        span = (span_to - span_from)[live]
        f = sim.frustration[live, m]
        level = TICKETS_CALM_LEVEL + f
        lam = TICKETS_PER_MONTH_BASE * size[live] * level * span / (last - first + 1)
        counts = rng.poisson(lam)
        a = np.repeat(live, counts)
        offset = (rng.random(len(a)) * np.repeat(span, counts) * SECONDS_PER_DAY).astype(np.int64)
        ts = np.repeat(span_from[live], counts) * SECONDS_PER_DAY + offset
        f_t = np.repeat(f, counts)
        trouble = sim.trouble[a, m]
        new = (ts // SECONDS_PER_DAY - acc.signup[a]) < ONBOARDING_DAYS
        severity = (
            rng.normal(size=len(a))
            + PRIORITY_FRUSTRATION * f_t
            + PRIORITY_ENTERPRISE * (acc.segment[a] == SEGMENTS.index("Enterprise"))
        )
        priority = np.searchsorted(PRIORITY_CUTS, severity)
        drivers = np.column_stack([f_t, trouble, new, np.zeros(len(a))])
        weights = np.asarray(CATEGORY_BASE_WEIGHT) + np.asarray(CATEGORY_DRIVER_WEIGHT) * drivers
        parts.append((a, ts, priority, _pick_rows(rng, weights)))
    a, ts, priority, category = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.lexsort((a, ts))
    return pa.table(
        {
            "ticket_id": _ids(TICKET_ID_PREFIX, np.arange(1, len(a) + 1), 7),
            "account_id": _account_ids(a[order], len(acc.signup)),
            "created_at": _timestamps(ts[order]),
            "priority": _labels(PRIORITIES, priority[order]),
            "category": _labels(CATEGORIES, category[order]),
        }
    )


def _raw_schema(name: str, table: pa.Table) -> tuple[tuple[str, str], ...]:
    """The contract's columns and types, with the column `schema_change` renames if renamed."""
    table_name, column, renamed = SCHEMA_CHANGE
    if name == table_name and renamed in table.column_names:
        return tuple((renamed if col == column else col, typ) for col, typ in SCHEMAS[name])
    return SCHEMAS[name]


def _write_duckdb(
    path: Path, tables: Iterable[tuple[str, pa.Table]], usage: Iterable[pa.Table], accounts: int
) -> dict[str, int]:
    """Write the tables into a temporary DuckDB file next to `path`, then swap it in atomically.

    Usage months go to a staging file first, then DuckDB writes them account-major into the
    raw file under the build's memory limit (spilling next to the file if it must).
    Returns the rows per table, in contract order.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    staging, spill = Path(f"{tmp}.usage"), Path(f"{tmp}.spill")
    try:
        con = duckdb.connect(
            str(tmp), config={"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill)}
        )
        try:
            con.execute("set enable_progress_bar = false")
            counts = {name: _insert(con, name, table) for name, table in tables}
            con.execute("attach ? as staging", [str(staging)])
            counts["usage_daily"] = _insert_usage(con, usage, accounts)
            con.execute("detach staging")
            con.execute("checkpoint")
        finally:
            con.close()
        # A WAL left by the previous file must not be replayed onto the new one.
        Path(f"{path}.wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, staging, Path(f"{tmp}.wal"), Path(f"{staging}.wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)
    return {name: counts[name] for name in TABLES}


def _insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> int:
    """Create one raw table with the contract's types and load an Arrow table into it."""
    columns = ", ".join(f"{col} {typ}" for col, typ in _raw_schema(name, table))
    con.execute(f"create table main.{name} ({columns})")
    con.register("staged", table)
    con.execute(f"insert into main.{name} by name select * from staged")
    con.unregister("staged")
    return table.num_rows


def _insert_usage(con: duckdb.DuckDBPyConnection, months: Iterable[pa.Table], n: int) -> int:
    """Stage usage month by month, then write it ordered by account and day; return its rows.

    The order is written in blocks of accounts, each small enough to sort in memory; every
    staged month is ordered by account, so each block reads only a few row groups of a month.
    """
    first: pa.Table | None = None
    for month in months:
        con.register("staged", month)
        if first is None:
            con.execute("create table staging.usage as select * from staged")
            first = month.slice(0, 0)
        else:
            con.execute("insert into staging.usage select * from staged")
        con.unregister("staged")
    assert first is not None, "the window has at least one month"
    columns = ", ".join(f"{col} {typ}" for col, typ in _raw_schema("usage_daily", first))
    con.execute(f"create table main.usage_daily ({columns})")
    numbers = np.arange(n, dtype=np.int32)
    ids = pa.table(
        {"account": numbers, "account_id": _ids(ACCOUNT_ID_PREFIX, numbers + 1, ACCOUNT_ID_WIDTH)}
    )
    con.register("ids", ids)
    rows = int(con.execute("select count(*) from staging.usage").fetchall()[0][0])
    step = math.ceil(n / max(1, math.ceil(rows / USAGE_ROWS_PER_SORT)))  # accounts per block
    for low in range(0, n, step):
        con.execute(
            f"""
            insert into main.usage_daily by name
            select ids.account_id, usage.* exclude (account)
            from staging.usage as usage
            inner join ids on usage.account = ids.account
            where usage.account >= {low} and usage.account < {low + step}
            order by usage.account, usage.usage_date
            """
        )
    con.unregister("ids")
    return rows
