"""OTLP/HTTP ingest: decode requests once into plain records and queue them for the store."""
