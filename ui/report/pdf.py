"""A report's HTML laid out on A4 pages by Qt and written as PDF bytes (no browser).

:func:`pdf_bytes` lays the HTML out with Qt's ``QTextDocument`` and writes it through
``QPdfWriter`` (page numbers at the foot); the figures are handed to the document as images
named by :func:`resource_name`, not decoded from PNG. Qt's layout reads no
``break-after: avoid``, so :func:`keep_with_next` gives the document page breaks that keep a
heading off the foot of a page and a figure with its caption (about 0.1 s for an hour's report:
a few layout rounds). Imported only when a PDF is asked for (an HTML report never loads it).

Thread: the Qt GUI thread (a QApplication must exist).
"""

from __future__ import annotations

from typing import Final

from PySide6 import QtCore, QtGui

from somafeedback import __version__

from .figures import ReportImage

PDF_RESOLUTION_DPI: Final = 300
PDF_MARGIN_MM: Final = 2.0  # the printer margin QTextDocument.print_ sets when none is (it adds 2 cm inside)
PRINT_MARGIN_CM: Final = 2.0  # the page margins QTextDocument.print_ lays a document out with
RESOURCE_SCHEME: Final = "report"  # QTextDocument resource names of the figures: report:<key>.png


def resource_name(image: ReportImage) -> str:
    """The name the PDF's document knows ``image`` by (its ``<img src>``)."""
    return f"{RESOURCE_SCHEME}:{image.key}.png"


def _paginated(document: QtGui.QTextDocument, device: QtGui.QPagedPaintDevice) -> QtGui.QTextDocument:
    """A copy of ``document`` laid out on ``device``'s pages exactly as ``QTextDocument.print_`` lays it out."""
    copy = document.clone()
    copy.documentLayout().setPaintDevice(device)
    screen = QtGui.QGuiApplication.primaryScreen()  # Qt's default dpi: the margins are in its units
    dpi_x, dpi_y = (round(screen.logicalDotsPerInchX()), round(screen.logicalDotsPerInchY())) if screen else (100, 100)
    frame = copy.rootFrame().frameFormat()
    frame.setLeftMargin(int(PRINT_MARGIN_CM / 2.54 * dpi_x))
    frame.setRightMargin(int(PRINT_MARGIN_CM / 2.54 * dpi_x))
    frame.setTopMargin(int(PRINT_MARGIN_CM / 2.54 * dpi_y))
    frame.setBottomMargin(int(PRINT_MARGIN_CM / 2.54 * dpi_y))
    copy.rootFrame().setFrameFormat(frame)
    copy.setPageSize(QtCore.QSizeF(device.width(), device.height()))
    return copy


def _keeps_with_next(block: QtGui.QTextBlock) -> bool:
    """A heading, or a paragraph holding a figure (kept with its caption)."""
    if block.blockFormat().headingLevel() > 0:
        return True
    it = block.begin()
    while not it.atEnd():
        if it.fragment().charFormat().isImageFormat():
            return True
        it += 1
    return False


def _items(document: QtGui.QTextDocument) -> list[tuple[int, float, bool]]:
    """The document's top-level items in order: (first block number, y of its first line, keep with next); a table
    is one item (its first cell's first line)."""
    layout = document.documentLayout()

    def top(block: QtGui.QTextBlock) -> float:  # a line that did not fit moves down inside its block, to the next page
        lines = block.layout()
        first = lines.lineAt(0).y() if lines is not None and lines.lineCount() else 0.0
        return layout.blockBoundingRect(block).top() + first

    items: list[tuple[int, float, bool]] = []
    seen_tables: set[int] = set()
    block = document.firstBlock()
    while block.isValid():
        table = QtGui.QTextCursor(block).currentTable()
        if table is not None:
            if table.firstPosition() not in seen_tables:  # its first cell's block
                seen_tables.add(table.firstPosition())
                items.append((block.blockNumber(), top(block), False))
        elif block.text().strip() or _keeps_with_next(block):
            items.append((block.blockNumber(), top(block), _keeps_with_next(block)))
        block = block.next()
    return items


def keep_with_next(document: QtGui.QTextDocument, device: QtGui.QPagedPaintDevice, rounds: int = 40) -> int:
    """Give ``document`` page breaks so no heading ends a page and no figure is parted from its caption
    (as laid out on ``device`` by ``print_``); the number of breaks added."""
    added = 0
    broken: set[int] = set()
    for _ in range(rounds):
        copy = _paginated(document, device)
        page_height = copy.pageSize().height()
        items = _items(copy)
        page = [int(top // page_height) for _, top, _ in items]
        move = None
        for k in range(len(items) - 1):
            if items[k][2] and page[k + 1] > page[k]:
                first = k
                while first > 0 and items[first - 1][2] and page[first - 1] == page[k]:
                    first -= 1  # a chain (a section heading, a sub-heading, a figure) moves together
                if items[first][0] not in broken and first > 0:
                    move = items[first][0]
                    break
        if move is None:
            return added
        broken.add(move)
        cursor = QtGui.QTextCursor(document.findBlockByNumber(move))
        fmt = cursor.blockFormat()
        fmt.setPageBreakPolicy(QtGui.QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
        cursor.setBlockFormat(fmt)
        added += 1
    return added


def pdf_bytes(html_text: str, images: list[ReportImage], title: str) -> bytes:
    """``html_text`` laid out on A4 pages by Qt and written as PDF (figures from ``images``)."""
    document = QtGui.QTextDocument()
    font = QtGui.QFont("DejaVu Sans")
    font.setPointSizeF(9.0)
    document.setDefaultFont(font)
    for image in images:
        document.addResource(QtGui.QTextDocument.ResourceType.ImageResource, QtCore.QUrl(resource_name(image)), image.qimage())
    document.setHtml(html_text)
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    writer = QtGui.QPdfWriter(buffer)
    writer.setPageSize(QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4))
    writer.setPageMargins(QtCore.QMarginsF(PDF_MARGIN_MM, PDF_MARGIN_MM, PDF_MARGIN_MM, PDF_MARGIN_MM),
                          QtGui.QPageLayout.Unit.Millimeter)
    writer.setResolution(PDF_RESOLUTION_DPI)
    writer.setTitle(title)
    writer.setCreator(f"somafeedback {__version__}")
    keep_with_next(document, writer)
    document.print_(writer)
    del writer  # finishes the PDF
    buffer.close()
    data = bytes(buffer.data().data())
    if not data.startswith(b"%PDF"):
        raise OSError("Qt wrote no PDF")
    return data


__all__ = ["PDF_MARGIN_MM", "PDF_RESOLUTION_DPI", "keep_with_next", "pdf_bytes", "resource_name"]
