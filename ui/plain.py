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
# GFM turns bare URLs (http://, https://, www.) and e-mail addresses into links *after* escapes are resolved,
# so escaping cannot stop it: an invisible WORD JOINER (U+2060) after the scheme, after "www" and after "@"
# breaks the pattern while the text reads (and wraps) the same.
_AUTOLINK = re.compile(r"(?i)(\b(?:https?|ftp|mailto|www)(?=[:.])|@)")
WORD_JOINER = "\u2060"


def md_text(value: Any) -> str:
    """`value` as markdown source that renders to its own characters (plus invisible joiners), never a link."""
    text = "" if value is None else str(value)
    text = _AUTOLINK.sub(lambda m: m.group(1) + WORD_JOINER, text)
    return _SPECIAL.sub(r"\\\1", text)
