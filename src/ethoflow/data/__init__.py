"""A recording's data before features: finding recordings and their labels, validating them
(Great Expectations), splitting by condition, per-video augmentation, and the ingest steps."""
