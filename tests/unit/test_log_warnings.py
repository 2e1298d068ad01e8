"""Python warnings are log records like any other (workers/logging.py)."""

from __future__ import annotations

import io
import logging
import sys
import warnings

import pytest
import structlog

from workers import logging as fleet_logging


def test_a_python_warning_is_one_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Celery's superuser warning spans six lines; the process logs it as one record."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level, structlog.get_config(), sys.excepthook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            fleet_logging.configure_logging("console", "INFO", stream=out)
            warnings.warn("You're running the worker with superuser privileges: this is\n"
                          "absolutely not recommended!\n\nPlease specify a different user",
                          UserWarning, stacklevel=1)
    finally:
        root.handlers[:], root.level, sys.excepthook = saved[0], saved[1], saved[3]
        structlog.configure(**saved[2])
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "python.warning" in lines[0], lines
    assert "superuser privileges: this is absolutely not recommended!" in lines[0]
    assert capsys.readouterr().err == ""  # nothing raw on stderr
