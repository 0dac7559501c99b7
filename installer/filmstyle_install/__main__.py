import sys

from filmstyle_install.cli import main

sys.exit(main())
