import pytest

from nb_paths import ROOT


@pytest.fixture(scope="session")
def kernel_pythonpath():
    """Kernels must import this checkout's package: put its src/ first on their PYTHONPATH."""
    import os

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *([old] if old else [])])
    yield
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old
