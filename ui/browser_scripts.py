"""The only scripts the dashboard puts in the page: fixed text of ours, never operator or service input.

tests/test_security.py allows `st.html` here and nowhere else in pages/ and ui/.
"""
from __future__ import annotations

import json

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


def close_sidebar_after_navigation() -> None:
    """Call once per run, in the sidebar: at phone width the sidebar closes when a page is chosen."""
    st.html(_CLOSE_SIDEBAR_ON_NAVIGATION, unsafe_allow_javascript=True)


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
