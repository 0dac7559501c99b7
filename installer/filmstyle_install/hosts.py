"""What each host needs: where Resolve's files go under the Fusion folder, how Nuke finds ours.

Resolve: every file of the source's ``resolve/<Folder>/...`` goes to ``<Fusion root>/<Folder>/...``
for the folders Fusion reads (``Fuses``, ``Templates`` such as ``Templates/Edit/Effects``,
``Scripts/{Utility,Edit,Color,Deliver,Comp,Tool}``, ``Macros``, ``Modules``, ``Config``); files at
the top of ``resolve/`` (its README) stay behind. Nuke: a block in ``init.py`` that calls
``nuke.pluginAddPath`` on the installed ``nuke`` folder, or, with ``--no-edit``, the NUKE_PATH line
to add to the user's environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

__all__ = ["HOSTS", "FUSION_FOLDERS", "resolve_targets", "nuke_path_instructions"]

HOSTS = ("nuke", "resolve")
FUSION_FOLDERS = ("Fuses", "Templates", "Scripts", "Macros", "Modules", "Config")


def resolve_targets(files: Iterable[tuple[str, bytes]], fusion_root: Path) -> tuple[list[tuple[Path, bytes]], list[str]]:
    """Destination of every file of the ``resolve`` tree, and the top folders that were skipped."""
    targets, skipped = [], []
    for rel, data in files:
        parts = rel.split("/")
        if len(parts) == 1:
            continue
        if parts[0] not in FUSION_FOLDERS:
            if parts[0] not in skipped:
                skipped.append(parts[0])
            continue
        targets.append((fusion_root.joinpath(*parts), data))
    return targets, skipped


def nuke_path_instructions(platform: str, nuke_dir: Path) -> list[str]:
    """Lines telling the user how to put ``nuke_dir`` on NUKE_PATH themselves."""
    if platform == "win32":
        return [
            "Add the filmstyle folder to NUKE_PATH (Command Prompt, then restart Nuke):",
            f'  setx NUKE_PATH "{nuke_dir};%NUKE_PATH%"',
            "or, in your pipeline's launcher, prepend it to NUKE_PATH for Nuke.",
        ]
    return [
        "Add the filmstyle folder to NUKE_PATH (in ~/.bashrc or ~/.zshrc, or your pipeline's launcher):",
        f'  export NUKE_PATH="{nuke_dir}${{NUKE_PATH:+:$NUKE_PATH}}"',
    ]
