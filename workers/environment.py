"""Where the database is, read without pydantic-settings: what a listing needs to start.

``fleet agents list`` and the other listings read two settings, SIGNALFLEET_DATABASE_URL
and, when it is unset, SIGNALFLEET_VAR_DIR (where the embedded server runs). Importing
pydantic-settings and validating all the others was a third of a listing's start-up
(``make bench``), so these two are read here by the rules :class:`workers.settings.Settings`
follows: the environment over the ``.env`` file, names in any case, an empty URL as none,
an example or weak password refused the same way. tests/unit/test_environment.py holds
the two readers to the same answers; every other command reads all settings through
``Settings``.
"""

from __future__ import annotations

import os
from pathlib import Path

from workers.passwords import weak_url_password

PREFIX = "signalfleet_"
ENV_FILE = ".env"  # Settings.model_config's env_file
DEFAULT_VAR_DIR = "var"  # Settings.var_dir's default


class WeakPassword(ValueError):
    """A service URL's password the settings refuse; the message says which and the fix."""


def _environment() -> dict[str, str]:
    """SIGNALFLEET_ values by lower-cased name: the process's environment over ``.env``."""
    values: dict[str, str] = {}
    if Path(ENV_FILE).is_file():
        from dotenv import dotenv_values

        values.update((k.lower(), v) for k, v in dotenv_values(ENV_FILE).items()
                      if v is not None and k.lower().startswith(PREFIX))
    values.update((k.lower(), v) for k, v in os.environ.items()
                  if k.lower().startswith(PREFIX))
    return values


def database_location() -> tuple[str | None, Path]:
    """The configured database URL (None: the embedded server's) and the var dir.

    Raises WeakPassword where ``get_settings`` would refuse the URL's password."""
    values = _environment()
    url = values.get(PREFIX + "database_url") or None
    if url is not None:
        why = weak_url_password("database_url", url)
        if why:
            raise WeakPassword(why)
    return url, Path(values.get(PREFIX + "var_dir", DEFAULT_VAR_DIR))
