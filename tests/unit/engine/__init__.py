"""Unit tests of the pure numpy interval-data engine."""
