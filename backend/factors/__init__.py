"""Emission factor library: versioned factors with provenance, chosen by rule and date."""
