"""filmstyle's installer: environment, weights and host files per OS; uninstall; doctor.

Standard library only and Python 3.9+, so any system Python runs it before an environment exists
(``python3 installer/install.py``). Modules: :mod:`~filmstyle_install.layout` (the per-OS path
table), :mod:`~filmstyle_install.sources` (checkout or wheel), :mod:`~filmstyle_install.environment`
(venv, pip), :mod:`~filmstyle_install.installation` (install/uninstall), :mod:`~filmstyle_install.fsops`
and :mod:`~filmstyle_install.manifest` (recorded changes and their undoing),
:mod:`~filmstyle_install.doctor` and :mod:`~filmstyle_install.probe` (checks), :mod:`~filmstyle_install.cli`.
"""

__all__ = ["main"]


def main(argv=None) -> int:
    from filmstyle_install.cli import main as _main

    return _main(argv)
