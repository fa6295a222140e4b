"""The ``somafeedback`` command line (``python -m somafeedback.cli`` runs it too): the
parser and dispatch (``main``) and the commands. The ``report`` command and the app itself are
added by ``somafeedback.ui.launcher``, the console script's entry point. May import every core
package; never ``ui``.
"""
