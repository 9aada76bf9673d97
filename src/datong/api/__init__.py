"""The HTTP API: the list of routers, shared dependencies and the error mapping."""
