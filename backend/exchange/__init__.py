"""The exchange: published footprints, the supplier directory, connections and shares."""
