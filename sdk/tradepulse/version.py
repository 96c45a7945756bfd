"""The installed version of tradepulse, read once from the package metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__: str = version("tradepulse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
