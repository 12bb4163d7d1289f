"""Load forecasting engine."""
