"""What each account pays and for how long: terms, renewals, plan and seat changes, prices.

The monthly simulation (demo/behaviour.py) decides who churns; these steps keep every
account's current subscription and append a row for each change (including the new prices
of a `price_increase` scenario), drawing from the simulation's stream when it calls them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo.scenarios import PRICE_INCREASE, PRICE_INCREASE_PLAN
from demo.world import (
    ANNUAL_DISCOUNT,
    LIST_PRICE_PER_SEAT,
    MAX_UTILIZATION_CAP,
    NO_DAY,
    PLANS,
    SEATS_MAX,
    SEATS_MIN,
    Accounts,
    Calendar,
    Scenario,
    add_months,
    months_since_epoch,
)

# Renewals that continue may carry a price increase (a new subscription row).
RENEWAL_PRICE_INCREASE_PROB = 0.1
RENEWAL_PRICE_INCREASE = 1.08

# Plan and seat changes.
UPGRADE_PROB = 0.004
DOWNGRADE_PROB = 0.003
PLAN_STEP_SHARE = 0.4  # share of changes that move plan rather than seats
UPGRADE_SEAT_RATIO = (1.2, 2.0)
DOWNGRADE_SEAT_RATIO = (0.5, 0.85)
UPGRADE_USER_GROWTH = 1.1  # an upgrade brings some new users along
CHANGE_ENGAGEMENT_SENSITIVITY = 1.0
CHANGE_MIN_TENURE_DAYS = 30


@dataclass
class Subscriptions:
    """Every account's current subscription and the rows so far, updated month by month."""

    plan: np.ndarray
    seats: np.ndarray
    cap: np.ndarray  # utilization capacity: share of the seats that could ever be active
    factor: np.ndarray  # negotiated price relative to list
    start: np.ndarray  # first day of the current row
    term_end: np.ndarray  # last day of the current annual term, NO_DAY for monthly billing
    cancel: np.ndarray  # ended_at of the cancelled subscription, NO_DAY while active
    raised: np.ndarray  # price_increase: accounts paying the raised price
    rows: list[tuple[np.ndarray, ...]]  # (account, start, plan, seats, factor) per change


def initial_subscriptions(cal: Calendar, acc: Accounts) -> Subscriptions:
    """Each account's first subscription, as signed at signup."""
    n = len(acc.signup)
    start = acc.signup.copy()
    first_rows = (
        np.arange(n),
        acc.signup.copy(),
        acc.plan.copy(),
        acc.seats.copy(),
        acc.price_factor.copy(),
    )
    return Subscriptions(
        plan=acc.plan.copy(),
        seats=acc.seats.copy(),
        cap=acc.utilization_cap.copy(),
        factor=acc.price_factor.copy(),
        start=start,
        term_end=np.where(acc.annual, _next_term_end(start, cal.start), NO_DAY),
        cancel=np.full(n, NO_DAY, dtype=np.int64),
        raised=np.zeros(n, dtype=bool),
        rows=[first_rows],
    )


def price_notice(
    acc: Accounts, subs: Subscriptions, scenario: Scenario, first: int, last: int
) -> np.ndarray:
    """Accounts a `price_increase` starting this month tells of a higher monthly price.

    They are monthly accounts of the raised plan and pay the new price from their next
    invoice (same billing day) on.
    """
    pending = np.zeros(len(acc.signup), dtype=bool)
    if scenario.raises_prices and first <= scenario.start <= last:
        pending = (acc.signup < scenario.start) & (subs.cancel == NO_DAY) & ~acc.annual
        pending &= subs.plan == PLANS.index(PRICE_INCREASE_PLAN)
    return pending


def raise_monthly_prices(first: int, subs: Subscriptions, pending: np.ndarray) -> None:
    """Told accounts still subscribed on their next billing day start a row at the new price."""
    month_gap = months_since_epoch(np.array([first])) - months_since_epoch(subs.start)
    new_start = add_months(subs.start, month_gap)
    hit = pending & ((subs.cancel == NO_DAY) | (subs.cancel >= new_start))
    subs.start = np.where(hit, new_start, subs.start)
    idx = np.flatnonzero(hit)
    subs.rows.append((idx, subs.start[idx], subs.plan[idx], subs.seats[idx], subs.factor[idx]))
    subs.raised |= hit


def renew(
    cal: Calendar,
    last: int,
    subs: Subscriptions,
    renewed: np.ndarray,
    scenario: Scenario,
    rng: np.random.Generator,
) -> None:
    """Annual contracts renewed this month start a new term, some at a higher price."""
    n = len(renewed)
    raise_price = renewed & (rng.random(n) < RENEWAL_PRICE_INCREASE_PROB)
    raise_price &= subs.term_end + 1 <= cal.end
    # price_increase: annual accounts of the raised plan pay the new price from renewal.
    new_list_price = np.zeros(n, dtype=bool)
    if scenario.raises_prices:
        new_list_price = renewed & ~subs.raised & (subs.plan == PLANS.index(PRICE_INCREASE_PLAN))
        new_list_price &= (subs.term_end + 1 >= scenario.start) & (subs.term_end + 1 <= cal.end)
    new_row = raise_price | new_list_price
    if new_row.any():
        subs.factor = np.where(raise_price, subs.factor * RENEWAL_PRICE_INCREASE, subs.factor)
        subs.start = np.where(new_row, subs.term_end + 1, subs.start)
        idx = np.flatnonzero(new_row)
        subs.rows.append((idx, subs.start[idx], subs.plan[idx], subs.seats[idx], subs.factor[idx]))
    subs.raised |= new_list_price
    subs.term_end = np.where(
        new_row,
        add_months(subs.start, 12) - 1,
        np.where(renewed, _next_term_end(subs.start, last + 1), subs.term_end),
    )


def _next_term_end(start: np.ndarray, after: int) -> np.ndarray:
    """Last day of the first annual term (from `start`) that ends on or after day `after`."""
    months_elapsed = (
        np.asarray(after).astype("datetime64[D]").astype("datetime64[M]")
        - start.astype("datetime64[D]").astype("datetime64[M]")
    ).astype(np.int64)
    terms = np.maximum(1, months_elapsed // 12)
    term_end = add_months(start, 12 * terms) - 1
    late = term_end < after
    term_end[late] = add_months(start[late], 12 * (terms[late] + 1)) - 1
    return term_end


def change_plans(
    acc: Accounts,
    m: int,
    subs: Subscriptions,
    e: np.ndarray,
    eligible: np.ndarray,
    day: np.ndarray,
    change_day: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Upgrades (engaged accounts) and downgrades (disengaged ones) as new subscription rows.

    A change lands on `day` and is recorded in `change_day[:, m]`; an account that leaves
    the raised plan stops paying the raised price.
    """
    plan, seats = subs.plan, subs.seats
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
    if changed.any():
        # The people using the product stay the same, so utilization capacity scales inversely.
        growth = np.where(up, UPGRADE_USER_GROWTH, 1.0)
        subs.cap = np.minimum(MAX_UTILIZATION_CAP, subs.cap * seats / new_seats * growth)
        subs.start = np.where(changed, day, subs.start)
        subs.term_end = np.where(changed & acc.annual, add_months(day, 12) - 1, subs.term_end)
        idx = np.flatnonzero(changed)
        subs.rows.append((idx, day[idx], new_plan[idx], new_seats[idx], subs.factor[idx]))
        change_day[idx, m] = day[idx]
        subs.plan, subs.seats = new_plan, new_seats
    subs.raised &= subs.plan == PLANS.index(PRICE_INCREASE_PLAN)


def subscription_rows(
    acc: Accounts, subs: Subscriptions, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every subscription row sorted by account then start: (account, start, plan, seats, mrr)."""
    seg = [np.concatenate(parts) for parts in zip(*subs.rows, strict=True)]
    order = np.lexsort((seg[1], seg[0]))
    account, start, plan, seats, factor = (part[order] for part in seg)
    price = _monthly_price(plan, factor, acc.annual[account], start, scenario)
    return account, start, plan, seats.astype(np.int32), np.round(price * seats, 2)


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
