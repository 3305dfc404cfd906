"""Fixtures starting the real CLI; each server is killed, process group and all, afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serverproc import Launcher


@pytest.fixture
def launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """launch(*args, env=..., interface=..., parameters=...) -> Server, for one test."""
    launcher = Launcher(tmp_path_factory.mktemp("cli"))
    yield launcher
    assert launcher.cleanup() == [], "a server that exited left processes behind"


@pytest.fixture(scope="module")
def module_launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """As `launch`, for a server shared by a module's tests."""
    launcher = Launcher(tmp_path_factory.mktemp("cli"))
    yield launcher
    assert launcher.cleanup() == [], "a server that exited left processes behind"
