"""Training: sequence windows, Optuna search, final fit."""
