"""Reading and writing recordings and label tables."""
