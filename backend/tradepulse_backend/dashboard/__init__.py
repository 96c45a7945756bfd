"""The dashboard port: REST API, and (with the dashboard issue) the page and WebSocket stream."""
