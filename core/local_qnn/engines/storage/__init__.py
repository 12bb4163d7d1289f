"""Battery storage dispatch engine (HiGHS)."""
