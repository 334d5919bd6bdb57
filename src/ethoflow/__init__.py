"""ethoflow: frame-level mouse behaviour labelling from lab videos."""

__version__ = "0.1.0"
