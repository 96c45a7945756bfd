"""Tests of the tradepulse SDK (sdk/tradepulse)."""
