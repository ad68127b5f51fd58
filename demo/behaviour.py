"""The monthly simulation: hidden states drift, accounts churn, subscriptions change.

Every account carries hidden monthly states (engagement, payment trouble, frustration) that
drift over time. Churn hazard depends on those states in the month of churn, while the raw
tables only record noisy traces of them (daily usage, payment attempts, tickets), so a model
can learn real signal but cannot read the answer off the data.

Every draw comes from one stream, in the order the steps below make them: reordering the
steps, or the draws inside one, changes every table of a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo.scenarios import PRICE_INCREASE, PRICE_SHOCK_HAZARD
from demo.subscriptions import (
    CHANGE_MIN_TENURE_DAYS,
    Subscriptions,
    change_plans,
    initial_subscriptions,
    price_notice,
    raise_monthly_prices,
    renew,
    subscription_rows,
)
from demo.world import (
    ENGAGEMENT_MEAN,
    NO_DAY,
    PLATFORM_BUGGINESS,
    REGION_PAYMENT_RISK,
    REGION_PRICE,
    SEGMENTS,
    Accounts,
    Calendar,
    Scenario,
    Simulation,
    sigmoid,
)

# Engagement: monthly mean-reverting walk with occasional shocks; usage observes it noisily.
# Each account's mean is drawn with the accounts (ENGAGEMENT_MEAN and on, demo/world.py).
ENGAGEMENT_REVERSION = 0.2
ENGAGEMENT_STEP_SIGMA = 0.35
ENGAGEMENT_DROP_PROB = 0.035
ENGAGEMENT_DROP_SIZE = 1.0
ENGAGEMENT_LIFT_PROB = 0.02
ENGAGEMENT_LIFT_SIZE = 0.7
ONBOARDING_RAMP = (0.5, 1.5)  # new accounts start this far below their mean engagement

# Payment trouble: a two-state Markov chain per account, some accounts chronically affected.
TROUBLE_ENTER_PROB = 0.015
TROUBLE_STAY_PROB = 0.7
CHRONIC_TROUBLE_ENTER_PROB = 0.25
CHRONIC_TROUBLE_STAY_PROB = 0.8
INITIAL_TROUBLE_PROB = (0.04, 0.5)  # (ordinary, chronic) accounts at the window start

# Frustration: decaying level with random flare-ups; tickets observe it noisily.
FRUSTRATION_DECAY = 0.6
FRUSTRATION_FLARE_PROB = 0.06
FRUSTRATION_FLARE_MEAN = 1.5
INITIAL_FRUSTRATION_MEAN = 0.3

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
HAZARD_ANNUAL_RENEWAL_SHIFT = 2.0
HAZARD_ANNUAL_MIDTERM_SHIFT = -2.5  # early terminations of annual contracts are rare
HAZARD_SEASON = (0.35, 0.0, 0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0, 0.15)
WIND_DOWN_PROB = (0.5, 0.3)  # (monthly, annual): churners who stop using the product first
WIND_DOWN_DAYS = (5, 40)


@dataclass
class _State:
    """Every account's hidden states and the day its usage stops, updated month by month."""

    engagement: np.ndarray
    trouble: np.ndarray
    frustration: np.ndarray
    stop: np.ndarray  # first day without usage (wind-down), NO_DAY if none


@dataclass(frozen=True)
class _History:
    """The monthly records the simulation fills in place, shaped as Simulation keeps them."""

    engagement: np.ndarray
    trouble: np.ndarray
    frustration: np.ndarray
    seats_before: np.ndarray
    seats_after: np.ndarray
    cap_before: np.ndarray
    cap_after: np.ndarray
    change_day: np.ndarray


def simulate(
    cal: Calendar, acc: Accounts, rng: np.random.Generator, scenario: Scenario | None = None
) -> Simulation:
    """Run the monthly latent-state simulation: churn, wind-down, plan and seat changes."""
    scenario = scenario or Scenario()
    state = _initial_state(cal, acc, rng)
    subs = initial_subscriptions(cal, acc)
    history = _empty_history(len(acc.signup), cal.months, state.engagement)
    for m in range(cal.months):
        _simulate_month(cal, m, acc, state, subs, history, scenario, rng)
    account, start, plan, seats, mrr = subscription_rows(acc, subs, scenario)
    return Simulation(
        engagement=history.engagement,
        trouble=history.trouble,
        frustration=history.frustration,
        seats_before=history.seats_before,
        seats_after=history.seats_after,
        cap_before=history.cap_before,
        cap_after=history.cap_after,
        change_day=history.change_day,
        cancel_day=subs.cancel,
        usage_stop_day=state.stop,
        seg_account=account,
        seg_start=start,
        seg_plan=plan,
        seg_seats=seats,
        seg_mrr=mrr,
    )


def _initial_state(cal: Calendar, acc: Accounts, rng: np.random.Generator) -> _State:
    """States at the window start: the existing base mid-life, new signups still onboarding."""
    n = len(acc.signup)
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
    stop = np.full(n, NO_DAY, dtype=np.int64)
    return _State(engagement=e, trouble=trouble, frustration=frustration, stop=stop)


def _empty_history(n: int, months: int, engagement: np.ndarray) -> _History:
    """Monthly records to fill in, starting from the engagement at the window start."""
    history = _History(
        engagement=np.empty((n, months + 1)),
        trouble=np.zeros((n, months), dtype=bool),
        frustration=np.zeros((n, months)),
        seats_before=np.zeros((n, months), dtype=np.int32),
        seats_after=np.zeros((n, months), dtype=np.int32),
        cap_before=np.zeros((n, months)),
        cap_after=np.zeros((n, months)),
        change_day=np.full((n, months), NO_DAY, dtype=np.int64),
    )
    history.engagement[:, 0] = engagement
    return history


def _simulate_month(
    cal: Calendar,
    m: int,
    acc: Accounts,
    state: _State,
    subs: Subscriptions,
    history: _History,
    scenario: Scenario,
    rng: np.random.Generator,
) -> None:
    """One month: states move, accounts churn, then prices, renewals and plans change."""
    first, last = int(cal.month_starts[m]), int(cal.month_ends[m])
    pending = price_notice(acc, subs, scenario, first, last)
    _step_states(acc, m, last, state, subs, history, rng)
    at_risk = (acc.signup < first) & (subs.cancel == NO_DAY)
    raised = subs.raised | pending if scenario.raises_prices else None
    churn, renewing, day = _churn(cal, m, acc, state, subs, history, at_risk, raised, rng)
    if pending.any():
        raise_monthly_prices(first, subs, pending)
    renew(cal, last, subs, at_risk & renewing & ~churn, scenario, rng)
    eligible = at_risk & ~churn & ~pending & (first - subs.start > CHANGE_MIN_TENURE_DAYS)
    change_plans(acc, m, subs, state.engagement, eligible, day, history.change_day, rng)
    history.seats_after[:, m] = subs.seats
    history.cap_after[:, m] = subs.cap


def _step_states(
    acc: Accounts,
    m: int,
    last: int,
    state: _State,
    subs: Subscriptions,
    history: _History,
    rng: np.random.Generator,
) -> None:
    """One month of the hidden states of live accounts, recorded with the month's seats."""
    live = (acc.signup <= last) & (subs.cancel == NO_DAY)
    state.engagement = _step_engagement(state.engagement, acc, live, rng)
    state.trouble = _step_trouble(state.trouble, acc, live, rng)
    state.frustration = _step_frustration(state.frustration, acc, live, rng)
    history.engagement[:, m + 1] = state.engagement
    history.trouble[:, m] = state.trouble
    history.frustration[:, m] = state.frustration
    history.seats_before[:, m] = subs.seats
    history.cap_before[:, m] = subs.cap


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


def _churn(
    cal: Calendar,
    m: int,
    acc: Accounts,
    state: _State,
    subs: Subscriptions,
    history: _History,
    at_risk: np.ndarray,
    raised: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who churns this month and when, and who winds down first: (churn, renewing, day).

    `raised` marks the accounts a `price_increase` raised or is raising (None without one).
    `day` is a random day of the month per account: a monthly churner's cancel day, and the
    day of a plan or seat change later in the month.
    """
    first, last = int(cal.month_starts[m]), int(cal.month_ends[m])
    n = len(acc.signup)
    logit = _hazard_logit(
        cal, m, acc, state.engagement, history.engagement[:, max(m - 1, 0)], subs.cap,
        state.trouble, state.frustration, subs.factor, raised,
    )  # fmt: skip
    renewing = acc.annual & (subs.term_end <= last)
    prob = np.where(
        acc.annual,
        sigmoid(
            logit + np.where(renewing, HAZARD_ANNUAL_RENEWAL_SHIFT, HAZARD_ANNUAL_MIDTERM_SHIFT)
        ),
        sigmoid(logit),
    )
    churn = at_risk & (rng.random(n) < prob)
    day = first + (rng.random(n) * (last - first + 1)).astype(np.int64)
    subs.cancel = np.where(churn, np.where(renewing, subs.term_end, day), subs.cancel)
    wind_down_prob = np.where(acc.annual, WIND_DOWN_PROB[1], WIND_DOWN_PROB[0])
    wind_down = churn & (rng.random(n) < wind_down_prob)
    lead = rng.integers(WIND_DOWN_DAYS[0], WIND_DOWN_DAYS[1] + 1, n)
    state.stop = np.where(churn, np.where(wind_down, subs.cancel - lead, subs.cancel), state.stop)
    return churn, renewing, day


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
    utilization = cap * sigmoid(e_now)
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
