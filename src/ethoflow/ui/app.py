"""Streamlit entry point of ``ethoflow ui``: ``streamlit run`` runs it on every interaction."""

from ethoflow.ui.pages import main

main()
