"""Altair charts with one colour per method and plain labels, shared by the pages."""

from __future__ import annotations

import altair as alt
import pandas as pd

from pipeline.read.sentences import METHOD_NAMES

# One colour per method on every chart, whichever methods a dataset has.
METHOD_COLORS = dict(
    zip(METHOD_NAMES.values(), ["#2563eb", "#9ca3af", "#f59e0b", "#10b981"], strict=True)
)
METRIC_NAMES = {
    "roc_auc": "Ranking quality (0.5 = chance)",
    "precision_at_k": "Share of flagged who left",
    "recall_at_k": "Share of leavers flagged",
}


MEASURED, PROVISIONAL = "Measured (labels matured)", "Provisional estimate"
STATUS_DASH = alt.Scale(domain=[MEASURED, PROVISIONAL], range=[[1, 0], [5, 4]])


def metric_over_time(
    metrics: pd.DataFrame, metric: str, provisional: pd.DataFrame | None = None
) -> alt.LayerChart:
    """One line per method of a metric by scoring month; a provisional estimate for months
    whose labels have not matured is a dashed segment to a hollow, fainter point."""
    measured = metrics.assign(Method=metrics["method"].map(METHOD_NAMES), Status=MEASURED)
    parts = [measured[["scoring_month", "Method", "Status", metric]].assign(estimate=False)]
    if provisional is not None and not provisional.empty and metric in provisional:
        estimate = provisional.assign(Method=METHOD_NAMES["xgboost"], Status=PROVISIONAL)
        last = measured[measured["method"] == "xgboost"].sort_values("scoring_month").tail(1)
        # The dashed segment starts at the last measured point of the same method.
        parts.append(last[["scoring_month", "Method", metric]].assign(Status=PROVISIONAL))
        parts.append(estimate[["scoring_month", "Method", "Status", metric]].assign(estimate=True))
    frame = pd.concat(parts, ignore_index=True)
    frame["estimate"] = frame["estimate"].astype("boolean").fillna(False).astype(bool)
    title = METRIC_NAMES[metric]
    x = alt.X("yearmonth(scoring_month):T", title="Scoring month")
    number = ".2f" if metric == "roc_auc" else ".0%"
    y = alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False), axis=alt.Axis(format=number))
    shown = [name for name in METHOD_COLORS if name in set(frame["Method"])]
    colors = alt.Scale(domain=shown, range=[METHOD_COLORS[name] for name in shown])
    color = alt.Color("Method:N", scale=colors, title=None, legend=alt.Legend(orient="bottom"))
    tooltip = [
        alt.Tooltip("yearmonth(scoring_month):T", title="Month"),
        alt.Tooltip("Method:N"),
        alt.Tooltip("Status:N"),
        alt.Tooltip(f"{metric}:Q", title=title, format=number),
    ]
    base = alt.Chart(frame).encode(x=x, y=y, color=color)
    lines = base.mark_line()
    if frame["estimate"].any():
        lines = lines.encode(
            strokeDash=alt.StrokeDash(
                "Status:N", scale=STATUS_DASH, title=None, legend=alt.Legend(orient="top")
            )
        )
    points = base.transform_filter(alt.datum.Status == MEASURED).mark_point(filled=True, size=40)
    layers = [lines, points.encode(tooltip=tooltip)]
    if frame["estimate"].any():  # an empty layer makes Vega warn of an infinite extent
        estimates = base.transform_filter(alt.datum.estimate).mark_point(
            filled=False, size=110, strokeWidth=2, opacity=0.6
        )
        layers.append(estimates.encode(tooltip=tooltip))
    return alt.layer(*layers).properties(height=300 if frame["estimate"].any() else 260)


def accuracy_before_after(months: pd.DataFrame) -> alt.Chart:
    """The model's backtest ROC AUC per month in two builds (pipeline.read.diff)."""
    frame = months.melt(
        id_vars="scoring_month",
        value_vars=["before", "after"],
        var_name="Build",
        value_name="roc_auc",
    ).dropna()
    frame["Build"] = frame["Build"].map({"before": "Earlier build", "after": "This build"})
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("yearmonth(scoring_month):T", title="Scoring month"),
            y=alt.Y("roc_auc:Q", title="Ranking quality (ROC AUC)", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "Build:N",
                scale=alt.Scale(
                    domain=["Earlier build", "This build"], range=["#9ca3af", "#2563eb"]
                ),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("yearmonth(scoring_month):T", title="Month"),
                "Build:N",
                alt.Tooltip("roc_auc:Q", title="ROC AUC", format=".3f"),
            ],
        )
        .properties(height=240)
    )


# Pixels a horizontal bar chart needs below its bars: the x axis, its labels and its title.
X_AXIS_PIXELS = 50


def bar_height(bars: int, per_bar: int) -> int:
    """A horizontal bar chart's height in pixels: `per_bar` for each bar plus the x axis. A
    number, not alt.Step: the app stretches charts to the page's width, and with a step height
    Vega-Lite drops that fit and warns in the browser's console."""
    return max(bars, 1) * per_bar + X_AXIS_PIXELS


def importance_bars(importance: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Horizontal bars of the average points of risk each factor is worth, by plain name:
    the `top` largest of the factors that move some customer's risk (pipeline.read.queries
    feature_importance leaves out those that move nobody's)."""
    return (
        alt.Chart(importance.head(top))
        .mark_bar(color="#2563eb")
        .encode(
            x=alt.X("mean_abs_points:Q", title="Average effect on a customer's risk (points)"),
            y=alt.Y(
                "label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320, labelOverlap=False)
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Factor"),
                alt.Tooltip("mean_abs_points:Q", title="Average points", format=".1f"),
            ],
        )
        .properties(height=bar_height(min(len(importance), top), 22))
    )


EFFECT_COLORS = alt.Scale(
    domain=["Raises risk", "Lowers risk", "Typical and total"],
    range=["#dc2626", "#16a34a", "#9ca3af"],
)


def waterfall(steps: pd.DataFrame, in_points: bool = True) -> alt.Chart:
    """Bars from the typical customer's risk to this customer's, one per factor.

    `steps` comes from ml.waterfall.waterfall_steps. In points of risk when that
    conversion is available (approximate), else in log-odds of the booster.
    """
    unit = "_pts" if in_points else ""
    frame = steps.assign(
        effect=[
            "Typical and total"
            if kind != "step"
            else ("Raises risk" if value > 0 else "Lowers risk")
            for kind, value in zip(steps["kind"], steps["value"], strict=True)
        ],
        label=[
            _step_label(
                row.step,
                row.kind,
                getattr(row, f"end{unit}"),
                getattr(row, f"value{unit}"),
                in_points,
            )
            for row in steps.itertuples()
        ],
    )
    title = "Risk of churn, % (approximate)" if in_points else "Risk score (model units)"
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(
                "label:N",
                sort=alt.SortField("order"),
                title=None,
                axis=alt.Axis(labelLimit=420, labelOverlap=False),
            ),
            x=alt.X(f"start{unit}:Q", title=title),
            x2=f"end{unit}:Q",
            color=alt.Color("effect:N", scale=EFFECT_COLORS, title=None),
            tooltip=[
                alt.Tooltip("step:N", title="Factor"),
                alt.Tooltip(
                    f"value{unit}:Q", format="+.1f" if in_points else "+.3f", title="Effect"
                ),
                alt.Tooltip("value:Q", format="+.3f", title="Model units"),
            ],
        )
        .properties(height=bar_height(frame["label"].nunique(), 26))
    )


def _step_label(step: str, kind: str, end: float, value: float, in_points: bool) -> str:
    """A bar's axis label: the fact and its effect ("No activity for 41 days (+12.3 pts)")."""
    if not in_points:
        return step if kind != "step" else f"{step} ({value:+.2f})"
    if kind != "step":
        return f"{step}: {end:.1f}%"
    return f"{step} ({value:+.1f} pts)"


REASON_RANKS = {1: "Top reason", 2: "Second reason", 3: "Third reason"}


def reason_counts(counts: pd.DataFrame) -> alt.Chart:
    """Stacked bars: for each factor, how many at-risk customers have it as a top-3 reason."""
    totals = counts.groupby("label")["customers"].sum().sort_values(ascending=False)
    frame = counts.assign(rank=counts["reason_rank"].map(REASON_RANKS))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "sum(customers):Q", title="At-risk customers with this among their top 3 reasons"
            ),
            y=alt.Y(
                "label:N",
                sort=totals.index.tolist(),
                title=None,
                axis=alt.Axis(labelLimit=320, labelOverlap=False),
            ),
            color=alt.Color(
                "rank:N",
                scale=alt.Scale(
                    domain=list(REASON_RANKS.values()), range=["#1d4ed8", "#3b82f6", "#93c5fd"]
                ),
                title=None,
            ),
            order=alt.Order("reason_rank:Q"),
            tooltip=[
                alt.Tooltip("label:N", title="Factor"),
                alt.Tooltip("rank:N", title="As"),
                alt.Tooltip("customers:Q", title="Customers"),
            ],
        )
        .properties(height=bar_height(len(totals), 24))
    )


def build_durations(runs: pd.DataFrame) -> alt.Chart:
    """Seconds per build over time, coloured by outcome."""
    return (
        alt.Chart(runs)
        .mark_circle(size=70)
        .encode(
            x=alt.X("Started:T", title="Build started (UTC)"),
            y=alt.Y("Seconds:Q", title="Duration (s)"),
            color=alt.Color(
                "Status:N",
                scale=alt.Scale(
                    domain=["success", "failed", "interrupted", "running"],
                    range=["#16a34a", "#dc2626", "#f59e0b", "#9ca3af"],
                ),
            ),
            tooltip=["Build:N", "Trigger:N", "Status:N", alt.Tooltip("Seconds:Q", format=".1f")],
        )
        .properties(height=200)
    )


# --- Health: monitors behind the triage verdict ------------------------------------------

REFERENCE_COLOR, CURRENT_COLOR, ALARM_COLOR = "#9ca3af", "#2563eb", "#dc2626"
WINDOW_NAMES = {"reference": "Reference months", "current": "Newest snapshot"}
KIND_NAMES = {"realized": MEASURED, "estimated": PROVISIONAL}


def _change_rules(frame: pd.DataFrame, field: str) -> list[alt.Chart]:
    """A red vertical rule where things changed (none when nothing did: an empty layer makes
    Vega warn about an infinite extent)."""
    changed = frame[field].dropna()
    if changed.empty:
        return []
    when = pd.DataFrame({"changed": [changed.min()]})
    return [
        alt.Chart(when)
        .mark_rule(color=ALARM_COLOR, strokeDash=[4, 3])
        .encode(x="changed:T", tooltip=[alt.Tooltip("changed:T", title="Changed")])
    ]


def _level(
    frame: pd.DataFrame, column: str, color: str, dash: list[int] | None, title: str
) -> list[alt.Chart]:
    """A horizontal rule at a column's (constant) value across the whole chart, or nothing."""
    values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
    if values.empty:
        return []
    level = pd.DataFrame({"level": [float(values.iloc[0])], "name": [title]})
    rule = alt.Chart(level).mark_rule(color=color, strokeDash=dash or [1, 0])
    return [rule.encode(y="level:Q", tooltip=[alt.Tooltip("name:N", title=""), "level:Q"])]


def volume_band(volume: pd.DataFrame, changed_at: object = None) -> alt.LayerChart:
    """Rows per day of one source, its learned range (grey band), days below it in red (what
    the volume check counts) and days above it as hollow dots (reported, never an alarm: a
    growing business is above its range most days)."""
    frame = volume.assign(
        day=pd.to_datetime(volume["day"]),
        changed=pd.to_datetime(changed_at) if changed_at else pd.NaT,
    )
    base = alt.Chart(frame).encode(x=alt.X("day:T", title="Day"))
    band = base.mark_area(color=REFERENCE_COLOR, opacity=0.3).encode(
        y=alt.Y("low_rows:Q", title="Rows per day"), y2="high_rows:Q"
    )
    line = base.mark_line(color=CURRENT_COLOR, strokeWidth=1.2).encode(y="row_count:Q")
    layers = [band, line]
    tooltip = [
        alt.Tooltip("day:T", title="Day"),
        alt.Tooltip("row_count:Q", title="Rows", format=",.0f"),
        alt.Tooltip("expected_rows:Q", title="Expected", format=",.0f"),
        alt.Tooltip("status:N", title="Status"),
    ]
    dots = {
        "below": {"shape": "circle", "color": ALARM_COLOR, "filled": True},
        "above": {"shape": "circle", "color": CURRENT_COLOR, "filled": False},
    }
    for status, style in dots.items():
        if (frame["status"] == status).any():  # an empty layer makes Vega warn
            layers.append(
                base.transform_filter(alt.datum.status == status)
                .mark_point(size=28, **style)
                .encode(y="row_count:Q", tooltip=tooltip)
            )
    return alt.layer(*layers, *_change_rules(frame, "changed")).properties(height=240)


def distribution_compare(distribution: pd.DataFrame) -> alt.Chart:
    """Share of customers per bin of one feature: reference months (grey) vs newest (blue)."""
    frame = distribution.assign(Window=distribution["time_window"].map(WINDOW_NAMES))
    order = frame.sort_values("bin_order")["bin_label"].drop_duplicates().tolist()
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("bin_label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
            xOffset=alt.XOffset("Window:N", sort=list(WINDOW_NAMES.values())),
            y=alt.Y("share:Q", title="Share of customers", axis=alt.Axis(format="%")),
            color=alt.Color(
                "Window:N",
                scale=alt.Scale(
                    domain=list(WINDOW_NAMES.values()), range=[REFERENCE_COLOR, CURRENT_COLOR]
                ),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("bin_label:N", title="Values"),
                "Window:N",
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
            ],
        )
        .properties(height=240)
    )


def monitored_over_time(
    performance: pd.DataFrame,
    metric: str,
    limit: str,
    title: str,
    changed_at: object = None,
    band: str | None = None,
) -> alt.LayerChart:
    """A metric per snapshot month (measured solid, estimated dashed), its reference mean
    (grey) and the limit recent months are judged against (red), the change marked; `band`:
    a column of +/- half-widths drawn as error bars (the estimate's own uncertainty)."""
    frame = performance.assign(
        month=pd.to_datetime(performance["snapshot_date"]),
        Status=performance["kind"].map(KIND_NAMES),
        changed=pd.to_datetime(changed_at) if changed_at else pd.NaT,
    )
    reference = metric.replace("roc_auc", "reference_roc_auc").replace(
        "churn_rate", "reference_churn_rate"
    )
    fmt = ".1%" if metric == "churn_rate" else ".3f"
    base = alt.Chart(frame).encode(x=alt.X("yearmonth(month):T", title="Snapshot month"))
    line = base.mark_line(point=True, color=CURRENT_COLOR).encode(
        y=alt.Y(f"{metric}:Q", title=title, scale=alt.Scale(zero=False)),
        strokeDash=alt.StrokeDash("Status:N", scale=STATUS_DASH, title=None),
        tooltip=[
            alt.Tooltip("yearmonth(month):T", title="Month"),
            alt.Tooltip(f"{metric}:Q", title=title, format=fmt),
            "Status:N",
            alt.Tooltip("time_window:N", title="Window"),
        ],
    )
    layers = [
        line,
        *_level(frame, reference, REFERENCE_COLOR, None, "Reference months' mean"),
        *_level(frame, limit, ALARM_COLOR, [6, 3], "Limit"),
        *_change_rules(frame, "changed"),
    ]
    if band and band in frame and frame[band].notna().any():
        low, high = frame[metric] - frame[band], frame[metric] + frame[band]
        ranged = alt.Chart(frame.assign(band_low=low, band_high=high))
        layers.append(
            ranged.transform_filter("isValid(datum.band_low)")
            .mark_rule(color=CURRENT_COLOR, strokeWidth=2, opacity=0.5)
            .encode(
                x="yearmonth(month):T",
                y="band_low:Q",
                y2="band_high:Q",
                tooltip=[
                    alt.Tooltip("band_low:Q", title="Estimate, low end", format=fmt),
                    alt.Tooltip("band_high:Q", title="Estimate, high end", format=fmt),
                ],
            )
        )
    return alt.layer(*layers).properties(height=240)
