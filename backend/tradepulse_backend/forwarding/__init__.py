"""Forwarding: re-sending each committed OTLP request, unchanged, to other OTLP/HTTP endpoints
from a bounded disk-backed queue per destination."""

from tradepulse_backend.forwarding.forwarder import Forwarder

__all__ = ["Forwarder"]
