"""The only scripts the dashboard puts in the page: fixed text of ours, never operator or service input.

tests/test_security.py allows `st.html` here and nowhere else in pages/ and ui/.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit as st


# Streamlit closes the sidebar after a page is chosen only when the browser says it is a phone (user agent);
# a narrow window (a phone in desktop mode, a split screen) keeps it open over the page. Below Streamlit's md
# breakpoint, where the sidebar covers the page, a click on a page link closes it as on a phone. Installed
# once per browser tab; the script is ours, no input reaches it.
_CLOSE_SIDEBAR_ON_NAVIGATION = """<script>
(() => {
  if (window.__closeSidebarOnNavigation) return;
  window.__closeSidebarOnNavigation = true;
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-testid='stSidebarNav'] a") || window.innerWidth >= 768) return;
    setTimeout(() => document.querySelector("[data-testid='stSidebarCollapseButton'] button")?.click(), 0);
  }, true);
})();
</script>"""


# Streamlit loads plotly.js (a 4.7 MB chunk) only when the first chart of a tab is drawn: after a start that
# cost 1.2 s between the first result reaching the browser and its chart on screen (bench/browser.py). The
# browser imports the chunk while it is idle on the first page instead, at the URL Streamlit itself imports
# it from (next to its own index script), so the module is fetched and evaluated once.
_PRELOAD_CHART_LIBRARY = """<script>
(() => {
  if (window.__chartLibraryPreloaded) return;
  window.__chartLibraryPreloaded = true;
  const index = document.querySelector("script[type='module'][src*='/static/js/index.']");
  if (!index) return;
  const load = () => import(new URL(%s, index.src).href).catch(() => {});
  (window.requestIdleCallback || ((f) => setTimeout(f, 200)))(load);
})();
</script>"""


@cache
def _chart_chunk() -> str | None:
    """The file name of Streamlit's Plotly chunk in this installation (hashed per release)."""
    found = sorted((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return found[0].name if found else None


def install_page_scripts() -> None:
    """Call once per run, in the sidebar. Installs, once per tab, the two scripts above: at phone width the
    sidebar closes when a page is chosen; the chart library loads while the first page is idle. One element
    for both: no extra gap in the sidebar."""
    chunk = _chart_chunk()
    preload = _PRELOAD_CHART_LIBRARY % json.dumps(chunk) if chunk else ""
    st.html(_CLOSE_SIDEBAR_ON_NAVIGATION + preload, unsafe_allow_javascript=True)


def bring_into_view(selector: str, nonce: int) -> None:
    """Scroll the page to the first element matching this CSS selector, below Streamlit's top bar. The nonce
    makes each submission's script a new element, so the browser runs it again."""
    st.html(f"""<script data-nonce="{nonce}">
    (() => {{
      let tries = 0;
      const go = () => {{
        const target = document.querySelector({json.dumps(selector)});
        if (!target) {{ if (tries++ < 100) setTimeout(go, 50); return; }}
        target.style.scrollMarginTop = "4rem";
        target.scrollIntoView({{block: "start"}});
      }};
      go();
    }})();
    </script>""", unsafe_allow_javascript=True, width="content")
