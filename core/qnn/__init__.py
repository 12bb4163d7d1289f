"""The QNN service as the dashboard side reaches it: the HTTP client (`client`) and the local service's process
(`local_service`)."""
