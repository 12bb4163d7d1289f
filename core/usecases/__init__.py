"""What the dashboard, the REST API and the CLI do with a request: submit a run (`pipeline`), plan a day (`plan`),
keep leases (`leases`), hold results while the database is down (`outbox`), export runs (`export`), and the wiring
of it all (`services`)."""
