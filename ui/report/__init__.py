"""Report rendering: session, client and progress reports drawn with the app's own plots, as HTML or PDF.

The content comes from the Qt-free core (:mod:`somafeedback.reports`); this package draws it:
``figures`` (the app's plots and the review window's timeline strip grabbed as PNG images),
``html`` (the layout, pure string building), ``pdf`` (A4 pages through Qt, imported only for a PDF),
``render`` (one HTML or PDF file written safely, on
the GUI thread) and ``command`` (the ``somafeedback report`` and ``progress`` commands). It may
import the rest of ``ui`` (the widgets it draws with) and the core; no other ``ui`` module imports
it except lazily, when a report is asked for (the launcher, the practitioner and review windows).
"""
