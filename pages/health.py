"""Health of every dependency: QNN service, database, embedding model, outbox."""
from __future__ import annotations

import streamlit as st

from core.usecases.pipeline import flush_outbox
from core.usecases.services import health_snapshot
from ui.plain import md_text
from ui.state import cached_health, get_services
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title("Health")
services = get_services()
if st.button("Check again", type="primary"):
    cached_health.clear()
snapshot = health_snapshot(services)

qnn_col, db_col, emb_col = st.columns(3)
with qnn_col.container(border=True):
    qnn = snapshot["qnn"]
    st.subheader((":material/check_circle: " if qnn.get("ok") else ":material/error: ") + "QNN service")
    st.write(md_text(qnn["label"]))
    if qnn.get("ok"):
        st.metric("Latency", f"{qnn['latency_ms']} ms")
        st.write(f"Status: {md_text(qnn.get('status'))} · version: {md_text(qnn.get('version') or 'not reported')}")
    else:
        st.error(md_text(qnn.get("error", "not answering")))
    local = qnn.get("local_service")
    if local and local.get("restarts"):
        st.write(f"Local service restarted {local['restarts']} time(s) after it stopped "
                 f"(last exit code {local['last_exit_code']}).")
    st.write("API token: " + ("set" if snapshot["secrets"]["QNN_API_TOKEN"] else "not set"))

with db_col.container(border=True):
    db = snapshot["database"]
    st.subheader((":material/check_circle: " if db.get("ok") else ":material/error: ") + "Database")
    st.write(md_text(db["label"]))
    if db.get("ok"):
        st.metric("Latency", f"{db['latency_ms']} ms")
        st.write(f"PostgreSQL `{db['postgres']}` · pgvector `{db['pgvector']}`")
        st.write(" · ".join(f"{name}: **{count:,}**" for name, count in db["counts"].items()))
        st.write("Migrations applied: " + ", ".join(f"`{m}`" for m in db["migrations"]))
    else:
        st.error(md_text(db.get("error", "not answering")))

with emb_col.container(border=True):
    emb = snapshot["embedding"]
    icon = (":material/check_circle: " if emb.get("loaded") else ":material/hourglass_top: " if emb.get("ok")
            else ":material/error: ")
    st.subheader(icon + "Embedding model")
    st.write(f"`{emb['name']}` · dimension {emb['dimension']}")
    if emb.get("loaded"):
        st.write(f"Loaded in {emb['load_seconds']:.1f} s")
    elif emb.get("error"):
        st.error(md_text(emb["error"]))
    else:
        st.write("Loading in the background; it is used at the first submission.")

with st.container(border=True):
    pending = snapshot["outbox"]["pending"]
    st.subheader("Outbox")
    st.write(f"{pending} computed run(s) waiting to be written to the database." if pending
             else "Empty: every computed run is in the database.")
    if pending and st.button("Write them now"):
        try:
            result = flush_outbox(services.engine(), services.outbox)
            st.success(f"Written: {result['written']}, already stored: {result['already_stored']}, "
                       f"still waiting: {result['failed']}, set aside as unwritable: {len(result['rejected'])}")
            for item in result["rejected"]:
                st.warning(md_text(f"{item['file']}: {item['reason']} (moved to the outbox's rejected/ folder)"))
        except Exception as exc:
            st.error(f"The database is still unavailable ({type(exc).__name__}).")
