"""PACT Technical Specifications v3 host: ProductFootprint mapping, ListFootprints filters, the REST actions.

``model`` maps a published footprint document to a PACT v3 ProductFootprint (pure); ``filters`` parses
ListFootprints and RequestCreatedEvent criteria; ``source`` says where published documents come from
for a reader; ``service`` answers the actions; ``routes`` is the Litestar edge under ``/3``.
"""
