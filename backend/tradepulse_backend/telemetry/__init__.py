"""Plain records and OTLP shapes that every layer past ingest shares."""
