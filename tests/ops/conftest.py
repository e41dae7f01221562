import pytest


@pytest.fixture(autouse=True)
def _fresh_readiness():
    """/health/ready remembers its answer per process: every test starts with none."""
    from ops import checks

    checks._READY.clear()
    yield
    checks._READY.clear()
