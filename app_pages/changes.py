"""Changes: what changed between two builds (code, config, data), who owns it, what it did."""

import pandas as pd
import streamlit as st

from pipeline import history
from pipeline.read import diff, sentences
from ui import charts, data

KIND_NAMES = {
    "code": "Code",
    "config": "Configuration",
    "data": "Data",
    "environment": "Libraries",
}

st.title("What changed")
st.caption(
    "Between two builds: every change to the pipeline's code and configuration, to the data "
    "and to the libraries, who owns it, and what it did to the model's inputs, its accuracy "
    "and the list of customers at risk. The same report as `python -m pipeline diff`."
)
pointer = data.require_build()
published = [record for record in history.load_all(data.settings()) if record.published]
if pointer is not None and len(published) < 2:
    st.info(
        "Only one build has been published: the next rebuild will show what changed since this one."
    )
elif pointer is not None:
    ids = [record.build_id for record in published]
    left, right = st.columns(2)
    after = left.selectbox("Build", ids, index=0)
    before = right.selectbox("Compared with", [i for i in ids if i < after] or ids, index=0)
    try:
        report = data.diff_report(before, after)
    except diff.UnknownBuildError as error:
        st.warning(str(error))
        st.stop()
    changes = pd.DataFrame(report["changes"], columns=["kind", "name", "owner", "detail"])
    made = changes[changes["kind"].isin(["code", "config"])]
    effect = report["effect"]
    moved = effect.get("features_moved", [])
    if made.empty:
        st.success(
            "No change to the pipeline's code or configuration: anything that moved came from "
            "the data."
        )
    elif moved or abs(effect.get("roc_auc_delta") or 0) >= 0.01:
        owners = ", ".join(dict.fromkeys(made["owner"]))
        st.warning(
            f"{sentences.count_of(len(made), 'change')} to the pipeline since build {before} "
            f"moved what the model sees or how well it ranks. Who reviews: {owners}."
        )
    else:
        st.success(
            f"{sentences.count_of(len(made), 'change')} to the pipeline since build {before}, "
            "and nothing moved: no feature and no accuracy. Harmless."
        )

    st.subheader("Changes")
    if changes.empty:
        st.caption("Nothing changed in code, configuration, data or libraries.")
    else:
        st.dataframe(
            changes.assign(kind=changes["kind"].map(KIND_NAMES).fillna(changes["kind"])),
            hide_index=True,
            width="stretch",
            column_config={
                "kind": "Kind",
                "name": "What",
                "owner": "Owner",
                "detail": st.column_config.TextColumn("Change", width="large"),
            },
        )

    st.subheader("What it did")
    if not effect.get("available"):
        st.caption(f"Not measured: {effect.get('why')}.")
        st.stop()
    if moved:
        labels = data.feature_labels(after)
        st.markdown(
            f"**{sentences.count_of(len(moved), 'feature')}** took other values for the same "
            "customers on the "
            f"snapshot of {effect['snapshot_date']}:"
        )
        st.dataframe(
            pd.DataFrame(moved).assign(
                feature=lambda frame: frame["feature"].map(labels).fillna(frame["feature"])
            ),
            hide_index=True,
            column_config={
                "feature": "Feature",
                "psi": st.column_config.NumberColumn("How much it moved (PSI)", format="%.2f"),
            },
        )
        if effect.get("upstream_changes"):
            st.caption("Changed upstream of the features: " + ", ".join(effect["upstream_changes"]))
    else:
        st.caption(f"No feature moved on the snapshot of {effect['snapshot_date']}.")
    months = pd.DataFrame(effect["roc_auc_by_month"])
    if not months.empty:
        st.altair_chart(charts.accuracy_before_after(months), width="stretch")
        delta = effect.get("roc_auc_delta")
        st.caption(
            "How well each build's model ranked leavers above stayers, month by month (ROC "
            "AUC; 0.5 is a coin flip): "
            + ("no common month." if delta is None else f"{delta:+.3f} on average.")
        )
    st.markdown(
        f"**Customers to contact:** {len(effect['top_k_entered'])} of the top "
        f"{effect['top_k']} are new and {len(effect['top_k_left'])} left it; the two rankings "
        f"agree at {effect['rank_correlation']:.0%} (rank correlation)."
    )
