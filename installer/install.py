#!/usr/bin/env python3
"""Install filmstyle for Nuke and DaVinci Resolve (any Python 3.9+, standard library only).

    python3 installer/install.py            # environment, weights, Nuke and Resolve, for this user
    python3 installer/install.py --help     # every option (--dry-run, --all-users, --cuda, ...)
    python3 installer/install.py doctor     # check the installation
    python3 installer/install.py --uninstall
"""

import os
import sys

if sys.version_info < (3, 9):
    sys.exit("install.py: error: needs Python 3.9 or newer, this is %d.%d" % sys.version_info[:2])

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_here, os.path.join(os.path.dirname(_here), "plugin")]

from filmstyle_install.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
