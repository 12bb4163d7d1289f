"""Plotly figure builders, one module per task; no Streamlit here."""
