"""Calculation runs, product footprints and calculation bundles."""
