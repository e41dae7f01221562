"""Fixtures of the sign-in and second-factor tests."""

from __future__ import annotations

import pytest

from merchants.models import User
from tests.conftest import enrolled, staff_member


@pytest.fixture
def lost(staff_groups) -> User:
    """A Support colleague with a second factor (enrolled as a person does it),
    about to lose their phone and their recovery codes."""
    user = staff_member("lost@violet.test", staff_groups["Support"])
    enrolled(user)
    return user
