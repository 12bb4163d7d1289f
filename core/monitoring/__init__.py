"""Anomaly detection rules and the resolve use case."""
