"""User and service text shown as text: no markdown, HTML, LaTeX, coloured text or links from input.

Streamlit renders markdown in st.markdown, st.error/warning/info/success, st.caption and headers. Any text
that came from an operator (Region, file names, notes) or from a service (errors echo input) goes through
`md_text` first: every character markdown gives a meaning to is backslash-escaped, so it shows literally.
"""
from __future__ import annotations

import re
from typing import Any

# CommonMark escapes any ASCII punctuation; these are the ones markdown, GFM, Streamlit's directives
# (:red[...], :material/...:), KaTeX ($...$) and raw HTML give a meaning to.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>:~=^&\"'])")


def md_text(value: Any) -> str:
    """`value` as markdown source that renders to exactly its own characters."""
    text = "" if value is None else str(value)
    return _SPECIAL.sub(r"\\\1", text)
