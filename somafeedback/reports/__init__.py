"""What a recorded session or a client's sessions say, as content ready to render: the
session report's sections and figures' data (``content``), the summary of an ``analyze`` run
(``analysis_summary``), the client's plain-words version (``client``) and practice history
across sessions (``practice_history``). No rendering here (``ui`` renders to PDF/HTML). May
import ``live``, ``interop`` and everything below; not ``cli`` or ``ui``.
"""
