"""Streamlit glue shared by the pages: cached services, sidebar, run views. Logic lives in core/."""
