"""Layout checks for the Qt tests: is a label's text shown whole, inside its window?

Thread: the Qt GUI thread (the tests').
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


def settle() -> None:
    """Run the posted layout requests and resizes (deterministic: no timers, no waiting)."""
    for _ in range(3):
        QtWidgets.QApplication.processEvents()


def clipped(label: QtWidgets.QLabel, window: QtWidgets.QWidget) -> str:
    """Why ``label`` (shown in ``window``) does not show all of its text; "" when it does.

    The height the text needs at the label's width (``heightForWidth``) must fit the label's
    contents, the label must not be cut by a parent, and it must lie inside ``window``.
    """
    if label.isHidden() or not label.text():
        return ""
    need = label.heightForWidth(label.width())
    have = label.contentsRect().height()
    if need > have:
        return f"{label.text()[:40]!r}… needs {need} px, has {have} px"
    visible = label.visibleRegion().boundingRect()
    if visible != label.rect():
        return f"{label.text()[:40]!r}… is cut by a parent: {visible} of {label.rect()}"
    where = QtCore.QRect(label.mapTo(window, QtCore.QPoint(0, 0)), label.size())
    if not window.rect().contains(where):
        return f"{label.text()[:40]!r}… lies outside the window: {where} in {window.rect()}"
    return ""
