"""The simulated world's shapes and its population: the data window, the accounts, their traits.

Accounts are drawn once, before the monthly simulation (demo/behaviour.py) runs: observable
attributes (plan, seats, segment, region, platform, billing) and hidden traits (mean
engagement, utilization capacity, frailty, chronic payment trouble) that drive behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

NO_DAY = np.iinfo(np.int64).max // 2  # "never" for day-number arrays (cancel, change)

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
NEGOTIATED_PRICE_SIGMA = 0.15

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

# Hidden traits drawn at signup: the mean each account's engagement reverts to, how much of
# its seats could ever be active, how many events a user makes, chronic payment trouble,
# and a frailty that shifts its churn hazard.
ENGAGEMENT_MEAN = 0.3
ENGAGEMENT_SPREAD = 0.8
EXISTING_ENGAGEMENT_BONUS = 0.2  # survivors: today's base is more engaged than new signups
UTILIZATION_CAP_BETA = (4.0, 2.0)  # share of seats that could ever be active (x the max)
MAX_UTILIZATION_CAP = 0.95
EVENTS_PER_USER_MEDIAN = 25.0
EVENTS_PER_USER_SIGMA = 0.5  # between accounts
CHRONIC_TROUBLE_SHARE = 0.06
SMB_TROUBLE_RISK = 1.3  # relative chronic-trouble risk of SMB vs larger segments
HAZARD_FRAILTY_SIGMA = 0.45


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


def calendar(end: date, months: int) -> Calendar:
    """The `months` calendar months ending on `end` (inclusive)."""
    last_month = np.datetime64(end, "M")
    firsts = np.arange(last_month - months + 1, last_month + 2).astype("datetime64[D]")
    days = firsts.astype(np.int64)
    month_ends = days[1:] - 1
    month_ends[-1] = np.datetime64(end, "D").astype(np.int64)
    return Calendar(month_starts=days[:-1], month_ends=month_ends)


def add_months(days: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """Shift day numbers by k calendar months, clamping to the month's last day (Jan 31 + 1)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(k, dtype=np.int64)
    target_first = target.astype("datetime64[D]").astype(np.int64)
    target_len = (target + 1).astype("datetime64[D]").astype(np.int64) - target_first
    return target_first + np.minimum(day_of_month, target_len - 1)


def month_index(cal: Calendar, days: np.ndarray) -> np.ndarray:
    """Window month index (0..months-1) of each day number inside the window."""
    return np.searchsorted(cal.month_starts, days, side="right") - 1


def months_since_epoch(days: np.ndarray) -> np.ndarray:
    """Calendar month number (months since 1970-01) of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, probs: tuple[float, ...], n: int) -> np.ndarray:
    """Draw n category codes (int8) with the given probabilities."""
    return rng.choice(len(probs), size=n, p=np.asarray(probs) / sum(probs)).astype(np.int8)


def pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
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


def accounts(cal: Calendar, customers: int, rng: np.random.Generator) -> Accounts:
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
