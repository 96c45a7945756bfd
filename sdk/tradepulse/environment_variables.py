"""Environment variables tradepulse reads besides the standard ``OTEL_*`` ones.

Each is declared once here with its default; a value that cannot be read is logged and
replaced by that default, and an argument to ``tradepulse.configure()`` always wins.
"""

from typing import Final

TRADEPULSE_SYSTEM_METRICS_ENABLED: Final = "TRADEPULSE_SYSTEM_METRICS_ENABLED"
"""
.. envvar:: TRADEPULSE_SYSTEM_METRICS_ENABLED

Whether ``configure()`` publishes the bot's process metrics (``process.cpu.utilization``,
``process.memory.usage``, ``process.thread.count``, ...): ``true`` or ``false``
(also ``1``/``0``, ``yes``/``no``, ``on``/``off``). Default: ``true``.
"""

__all__ = ["TRADEPULSE_SYSTEM_METRICS_ENABLED"]
