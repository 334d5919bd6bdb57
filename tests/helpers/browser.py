"""The browser the web app's tests (e2e/browser) and the servers' UI tests drive."""

import shutil

# Debian's chromium, driven by Playwright (`playwright install` would download a browser).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The app's first labelling loads TensorFlow and the models in its server; Prefect's and MLflow's
# UIs are single-page apps: all slow to answer on a busy 2-core machine.
BROWSER_TIMEOUT_MS = 90_000
