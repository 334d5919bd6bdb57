"""Per-frame preprocessing: frame-rate standardisation, mouse detection, cropping, augmentation."""
