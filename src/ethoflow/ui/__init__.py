"""The researchers' web app (``ethoflow ui``): page logic in plain functions, widgets apart.

- :mod:`ethoflow.ui.files`: uploads (checked, sanitised, saved atomically in the app's folder);
- :mod:`ethoflow.ui.recording`: a recording with its labels, for the manual viewer;
- :mod:`ethoflow.ui.results`: labelling with the champions and reading labelled outputs;
- :mod:`ethoflow.ui.annotate`: the Annotate page's marks, undo and saving;
- :mod:`ethoflow.ui.review`: the review queue and its answers as partial label files;
- :mod:`ethoflow.ui.pages` and ``app.py``: the Streamlit pages, widgets only.

Every computation is the library's (labelling, tracking, summaries, plots); these modules only
choose what to call and turn failures into messages a researcher understands
(:class:`ethoflow.ui.files.UserError`).
"""
