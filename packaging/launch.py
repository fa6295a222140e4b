"""The bundle's entry point: the same ``somafeedback`` command as the installed package's script.

PyInstaller runs this file as ``__main__``; ``somafeedback.ui.launcher`` uses relative imports, so
it cannot be the script itself. Thread: the main thread.
"""

import sys

from somafeedback.ui.launcher import main

if __name__ == "__main__":
    sys.exit(main())
