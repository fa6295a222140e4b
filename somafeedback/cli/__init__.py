"""The ``somafeedback`` command line (``python -m somafeedback.cli`` runs it too): the parser
and dispatch (``main``), the commands by group (``strap_commands``, ``reading_commands``,
``file_commands``, ``regulation_commands``), the options they share (``options``) and what they
share when they run (``running``: exit codes, the asyncio loop, LSL outlets). The ``report``
command and the app itself are added by ``somafeedback.ui.launcher``, the console script's entry
point. May import every core package; never ``ui``.
"""
