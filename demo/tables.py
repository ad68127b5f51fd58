"""Recording the simulated world as the contract's raw tables, one table at a time.

The tables are noisy traces of the world: accounts and subscriptions as signed, daily usage
that observes engagement, invoices on each billing anniversary, payment attempts that fail
more in payment trouble, and support tickets that observe frustration. Each table draws
from its own random stream, and each scenario's recording effect is applied on the way out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo.behaviour import ONBOARDING_DAYS
from demo.scenarios import apply_scenario
from demo.world import (
    BILLING_PERIODS,
    NO_DAY,
    PLANS,
    PLATFORM_WEEKEND_ACTIVITY,
    PLATFORMS,
    REGIONS,
    SEGMENTS,
    Accounts,
    Calendar,
    Simulation,
    World,
    add_months,
    month_index,
    months_since_epoch,
    pick_rows,
    sigmoid,
)
from pipeline.contract import CONTRACT

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

SECONDS_PER_DAY = 86_400

# Usage: each day's active users and events observe the engagement walk noisily.
DAILY_ENGAGEMENT_NOISE = 0.35
EVENTS_NOISE = 0.3  # between days

# Invoices and payments: attempts fail more often while an account is in payment trouble.
MONTHLY_PAYMENT_TERMS = 14  # days from invoice to due date
ANNUAL_PAYMENT_TERMS = 30
FIRST_ATTEMPT_FAIL_PROB = (0.025, 0.7)  # (no trouble, trouble)
RETRY_FAIL_PROB = (0.3, 0.55)
MAX_PAYMENT_ATTEMPTS = 4
FIRST_ATTEMPT_DAYS = 2  # the first charge runs within this many days of the invoice
RETRY_AFTER_DAYS = (3, 6)  # [low, high) days between attempts

# Tickets: volume, urgency and category observe frustration, payment trouble and onboarding.
TICKETS_PER_MONTH_BASE = 0.6
TICKETS_CALM_LEVEL = 0.2  # tickets of an account without frustration, in frustration units
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_FRUSTRATION = 0.3
PRIORITY_ENTERPRISE = 0.3
PRIORITY_CUTS = (0.0, 1.3, 2.0)
CATEGORIES = ("bug", "billing", "how-to", "feature request")
CATEGORY_BASE_WEIGHT = (0.25, 0.10, 0.30, 0.25)
CATEGORY_DRIVER_WEIGHT = (0.25, 0.60, 0.40, 0.0)  # x (frustration, payment trouble, new, -)

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


def raw_tables(world: World) -> Iterator[tuple[str, pa.Table]]:
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
        yield name, apply_scenario(name, build(), world)


def usage_months(world: World) -> Iterator[pa.Table]:
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
        yield apply_scenario("usage_daily", month, world)


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


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded identifiers such as INV00000042 (never truncated beyond `width`)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _account_ids(account: np.ndarray, n: int) -> pa.Array:
    """Account ids for 0-based account indices, dictionary-encoded to keep big tables cheap."""
    dictionary = ids(ACCOUNT_ID_PREFIX, np.arange(1, n + 1), ACCOUNT_ID_WIDTH)
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
            "subscription_id": ids(SUBSCRIPTION_ID_PREFIX, np.arange(1, rows + 1), 7),
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
    month_len = int(add_months(np.array([first]), 1)[0]) - first
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
    p = cap * sigmoid(e_day) * day_factor
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
    month = months_since_epoch(sim.seg_start)
    first_k = np.maximum(0, (months_since_epoch(np.array([cal.start])) - month - 1) // period)
    last_k = (months_since_epoch(stop) - month) // period
    counts = np.maximum(0, last_k - first_k + 1)
    row = np.repeat(np.arange(len(counts)), counts)
    k = first_k[row] + np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    day = add_months(sim.seg_start[row], k * period[row])
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


def _invoices_table(invoices: dict[str, np.ndarray], n: int) -> pa.Table:
    """The invoices table."""
    rows = len(invoices["day"])
    return pa.table(
        {
            "invoice_id": ids(INVOICE_ID_PREFIX, np.arange(1, rows + 1), 8),
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
    in_trouble = sim.trouble[account, month_index(cal, day)].astype(int)
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
            "payment_id": ids(PAYMENT_ID_PREFIX, np.arange(1, len(inv) + 1), 8),
            "invoice_id": ids(INVOICE_ID_PREFIX, inv + 1, 8),
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
        parts.append((a, ts, priority, pick_rows(rng, weights)))
    a, ts, priority, category = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.lexsort((a, ts))
    return pa.table(
        {
            "ticket_id": ids(TICKET_ID_PREFIX, np.arange(1, len(a) + 1), 7),
            "account_id": _account_ids(a[order], len(acc.signup)),
            "created_at": _timestamps(ts[order]),
            "priority": _labels(PRIORITIES, priority[order]),
            "category": _labels(CATEGORIES, category[order]),
        }
    )
