"""What the test modules share: builders of projects, recordings and features, and their constants.

``tests/`` is on ``sys.path`` (pyproject's pytest ``pythonpath``), so a test module imports
``helpers.<module>``; test modules never import one another.
"""
