"""Imports every built-in module so that each registers itself."""

from __future__ import annotations

from provisioner.modules import (  # noqa: F401  (imported to register)
    command,
    copy,
    file,
    get_url,
    group,
    lineinfile,
    package,
    repo,
    rpm_key,
    service,
    template,
    user,
)
