"""How a command runs: Ctrl-C that stops cleanly, progress bars, and the run's log file."""
