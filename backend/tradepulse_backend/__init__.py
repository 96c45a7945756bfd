"""The tradepulse backend: OTLP ingest, storage, analytics, alerting and the dashboard."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tradepulse")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
