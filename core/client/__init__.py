"""The dashboard side of the QNN boundary: settings, services, HTTP client, submit pipeline, outbox."""
