"""Run history, plans section: one row per day-ahead plan, opening into its headline figures and three runs."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from core.db.plans import list_plans
from core.db.rows import PlanRow
from core.usecases.plan import stored_plan
from ui.plan_view import render_plan

PAGE_SIZE = 10


def _row(plan: PlanRow) -> dict[str, Any]:
    s, inputs = plan.get("summary") or {}, plan.get("inputs") or {}
    before, after = s.get("peak_import_mw_before"), s.get("peak_import_mw_after")
    return {
        "plan id": str(plan["id"]), "submitted": plan["created_at"], "region": plan["region"],
        "day": plan["plan_date"], "status": plan["status"], "feeder": inputs.get("network"),
        "peak import MW": (f"{before:.2f} → {after:.2f}" if before is not None and after is not None else None),
        "limit MW": inputs.get("import_limit_mw"), "runs": plan["runs"],
    }


def render_plan_history(engine: Engine) -> None:
    """Newest plans first; selecting one draws it as on the Day-ahead plan page, with its three run ids."""
    rows, total = list_plans(engine, page=0, page_size=PAGE_SIZE)
    with st.expander(f"Day-ahead plans ({total:,})", expanded=False, icon=":material/event_available:"):
        if not rows:
            st.caption("No plan yet: make one on the Day-ahead plan page.")
            return
        frame = pd.DataFrame([_row(r) for r in rows])
        event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun",
                             selection_mode="single-row", key="history_plans_table",
                             column_config={"submitted": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                                            "day": st.column_config.DateColumn("for day")})
        st.caption(f"The {min(total, PAGE_SIZE)} newest plans. Each plan's three runs are also rows of the run "
                   "table below. Select a plan to open it.")
        selected = event.selection.rows if event and event.selection else []
        if selected:
            outcome = stored_plan(engine, frame.iloc[selected[0]]["plan id"])
            st.subheader(f"Plan · {rows[selected[0]]['region']} · {rows[selected[0]]['plan_date']}")
            render_plan(outcome)
