"""Guarantees of origin and other energy attribute certificates: ranges, states, expiry,
cancellation statements, and claims that the exchange holds exclusive (see docs/certificates.md)."""
