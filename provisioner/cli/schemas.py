"""`provision schema`: the JSON Schema an editor checks a playbook, a tasks file or an
inventory with. The schemas are built below the CLI; this only writes one out."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provisioner.cli.common import say, say_error


def _builders() -> dict[str, Callable[[], dict[str, Any]]]:
    from provisioner.inventory.json_schema import inventory_schema
    from provisioner.playbook.json_schema import playbook_schema, tasks_schema

    return {"playbook": playbook_schema, "tasks": tasks_schema, "inventory": inventory_schema}


def show(kind: str, output: Path | None) -> int:
    text = json.dumps(_builders()[kind](), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        say_error(f"{output}: cannot write it: {exc.strerror or exc}")
        return 1
    say(f"wrote the {kind} schema to {output}")
    return 0
