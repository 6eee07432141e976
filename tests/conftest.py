"""Test-wide settings. Under CI (CI=true), hypothesis runs derandomized and keeps no
example database, so a run is reproducible from the commit alone."""

import os

from hypothesis import settings

settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
