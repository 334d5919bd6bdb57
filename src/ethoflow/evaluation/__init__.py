"""Scores and what is shown of them: metrics and threshold choice, the post-processing shared
with labelling, agreement between label files, summaries, plots and reports."""
