"""Sidebar: which QNN backend and which database are in use, and whether they answer."""
from __future__ import annotations

import streamlit as st

from ui.plain import md_text
from ui.state import cached_health, get_services

REFRESH_S = 5


def render_status_sidebar() -> None:
    """Call inside `with st.sidebar:`, before the page runs: a page that stops early (st.stop, an input
    error) still has it. Only while the database or the QNN service is still starting does it refresh itself
    every few seconds (until the operator's next click draws it without a timer): a fragment rerunning on a
    timer drops, now and then, a click or a form submission that lands during its run (Streamlit issue
    #10805), and so does a full rerun the app starts by itself. The sentence model loading is no reason: the
    sidebar says "loading" until the next click."""
    if get_services().started:
        _draw_status()
    else:
        _refresh_while_starting()


@st.fragment(run_every=REFRESH_S)
def _refresh_while_starting() -> None:
    _draw_status()


def _draw_status() -> None:
    services = get_services()
    st.caption("Connections")
    if not services.started:
        st.markdown(f":orange[●] **QNN** · starting  \n{md_text(services.qnn_label)}")
        st.markdown(f":orange[●] **Database** · starting  \n{md_text(services.database_label)}")
        return
    health = cached_health(services)
    qnn, db = health["qnn"], health["database"]
    qnn_icon = ":green[●]" if qnn.get("ok") else ":red[●]"
    db_icon = ":green[●]" if db.get("ok") else ":red[●]"
    qnn_detail = f"{qnn.get('latency_ms', '–')} ms" if qnn.get("ok") else "not answering"
    db_detail = f"{db.get('latency_ms', '–')} ms" if db.get("ok") else "not answering"
    st.markdown(f"{qnn_icon} **QNN** · {qnn_detail}  \n{md_text(qnn['label'])}")
    # Read live: a supervised local service that died and came back says so at once.
    local = services.local_qnn_state()
    if local is not None:
        if not local["running"]:
            st.markdown(":red[●] **Local QNN service** · stopped; restarting at the next check or submission")
        elif local["restarts"]:
            st.markdown(f":orange[●] **Local QNN service** · restarted {local['restarts']}× "
                        f"(last exit code {local['last_exit_code']})")
    st.markdown(f"{db_icon} **Database** · {db_detail}  \n{md_text(db['label'])}")
    # Read live, not from the 15 s cache: the model finishes loading in the background, and the
    # sidebar must not say "loading" beside a Health page that says "loaded".
    model = services.encoder.info()
    if model.error:
        st.markdown(":red[●] **Embeddings** · failed to load (see Health)")
    else:
        st.markdown(f"{':green[●]' if model.loaded else ':orange[●]'} **Embeddings** · "
                    f"{'ready' if model.loaded else 'loading: similar runs follow when ready'}")
    pending = health["outbox"]["pending"]
    if pending:
        st.warning(f"{pending} computed run(s) waiting in the local outbox for the database.")
