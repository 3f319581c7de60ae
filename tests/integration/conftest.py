"""The lab fixtures for every test here (tests.lab.fixtures explains them)."""

from tests.lab.fixtures import fresh_host, lab  # noqa: F401  (re-exported fixtures)
