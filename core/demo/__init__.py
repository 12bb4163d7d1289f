"""Demo data: load profiles, prices, seeded history."""
