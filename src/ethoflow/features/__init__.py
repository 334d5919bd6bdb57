"""Per-frame features: the featurisation (its settings, id and the streaming pipeline), the
optional CNN, posture from the track, and motion inside the body."""
