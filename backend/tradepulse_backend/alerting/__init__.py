"""Alerting: rules, alert lifecycle, routing, rate limits, the durable outbox and channels."""
