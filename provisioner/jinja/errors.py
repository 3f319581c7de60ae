"""What a filter, test or lookup raises when it refuses: a message for the user, which
the Jinja2 layer prefixes with the name of what failed."""

from __future__ import annotations


class FilterFailed(Exception):
    """A filter's own refusal, already worded for the user."""


class TestFailed(Exception):
    """A test's own refusal, already worded for the user."""

    __test__ = False  # not a pytest test class


class LookupFailed(Exception):
    """A lookup's own failure, already worded for the user."""
