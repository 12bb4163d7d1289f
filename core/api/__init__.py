"""The REST API: the pipeline of the pages and the CLI over HTTP (issue 13). Start: python -m core.api."""
