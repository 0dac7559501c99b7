"""The look editor: the job's blend of styles, and a picker of styles with thumbnails.

The **blend** lists the job's top-level styles with their weight at the current frame (weights
are curves, edited in the curve editor; they are normalised per frame, so two styles keyed
1 → 0 and 0 → 1 migrate from one look to the other). **Add to blend** appends the picked style,
**Remove** takes the selected one out.

The **picker** shows every style a job can name: the 26 built-in looks, the user's named styles
(``styles.yaml``: models and images, see :mod:`filmstyle.job.user_styles`) and images, those
the job already uses and those imported with **Import image…**. Clicking a tile puts that
style in the selected blend slot. Built-in looks and user models are shown as thumbnails the
worker renders on the current shot (see :mod:`filmstyle.panel.preview`); images are shown as
themselves. A tile waits with its name until its thumbnail arrives.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from filmstyle.errors import FilmStyleError
from filmstyle.job.styles import BUILTIN_STYLES, IMAGE_STYLE_EXTENSIONS
from filmstyle.job.user_styles import MODEL_EXTENSIONS, load_user_styles
from filmstyle.panel.relocate import style_is_path

__all__ = ["StyleChoice", "style_choices", "LookEditor", "THUMB_SIZE"]

THUMB_SIZE = QSize(112, 70)


@dataclass(frozen=True)
class StyleChoice:
    """One tile: ``style`` is the text the job gets; ``kind`` is builtin, user (a named model or
    image) or image; ``image`` the file shown as the tile, for image styles."""

    style: str
    label: str
    kind: str
    image: Path | None = None

    @property
    def rendered(self) -> bool:
        """True when the tile is a thumbnail the worker renders (built-in looks and user models)."""
        return self.image is None


def style_choices(used: list[str], imported: list[str], base_dir: Path | None) -> tuple[list[StyleChoice], str | None]:
    """Every style the picker offers, and the user styles file's error if it cannot be read."""
    out = [StyleChoice(name, name, "builtin") for name in BUILTIN_STYLES]
    error = None
    try:
        user = load_user_styles()
    except FilmStyleError as exc:
        user, error = {}, str(exc)
    from filmstyle.job.user_styles import styles_file

    folder = styles_file().parent
    for name, entry in sorted(user.items()):
        target = entry.get("model") if isinstance(entry, dict) else entry
        image = None
        if isinstance(target, str) and Path(target).suffix.lower() in IMAGE_STYLE_EXTENSIONS:
            p = Path(target).expanduser()
            image = p if p.is_absolute() else folder / p
        out.append(StyleChoice(name, name, "user", image))
    seen = {c.style for c in out}
    for text in [*used, *imported]:
        if text in seen or not style_is_path(text) or text.lower().startswith("custom:"):
            continue
        seen.add(text)
        p = Path(text).expanduser()
        full = p if p.is_absolute() or base_dir is None else base_dir / p
        if full.suffix.lower() in MODEL_EXTENSIONS:
            continue
        out.append(StyleChoice(text, Path(text).name, "image", full))
    return out, error


def _placeholder(label: str) -> QPixmap:
    pix = QPixmap(THUMB_SIZE)
    pix.fill(QColor(55, 55, 60))
    p = QPainter(pix)
    p.setPen(QColor(200, 200, 200))
    p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, label)
    p.end()
    return pix


def _fitted(image: QImage) -> QPixmap:
    pix = QPixmap(THUMB_SIZE)
    pix.fill(QColor(25, 25, 28))
    scaled = image.scaled(THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    p = QPainter(pix)
    p.drawImage((THUMB_SIZE.width() - scaled.width()) // 2, (THUMB_SIZE.height() - scaled.height()) // 2, scaled)
    p.end()
    return pix


class LookEditor(QWidget):
    """Blend list, picker and buttons. Edits go through the callbacks the window gives."""

    thumbnailsWanted = Signal()

    def __init__(self, set_style: Callable[[int, str], None], remove_style: Callable[[int], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._set_style, self._remove_style = set_style, remove_style
        self.blend = QListWidget()
        self.blend.setIconSize(QSize(56, 35))
        self.add_button = QPushButton("Add to blend")
        self.add_button.setToolTip("Add the picked style to the blend (its weight is a curve in the curve editor)")
        self.remove_button = QPushButton("Remove")
        self.import_button = QPushButton("Import image…")
        self.import_button.setToolTip("Use any painting or photograph as a style (the arbitrary-style network)")
        self.picker = QListWidget()
        self.picker.setViewMode(QListView.ViewMode.IconMode)
        self.picker.setIconSize(THUMB_SIZE)
        self.picker.setGridSize(QSize(THUMB_SIZE.width() + 14, THUMB_SIZE.height() + 30))
        self.picker.setResizeMode(QListView.ResizeMode.Adjust)
        self.picker.setMovement(QListView.Movement.Static)
        self.picker.setWordWrap(True)
        self.note = QLabel()
        self.note.setStyleSheet("color: #c96")
        self.note.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.import_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Blend (weights are curves; normalised per frame)"))
        layout.addWidget(self.blend)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Styles: click to put one in the selected slot"))
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.note)
        self.choices: list[StyleChoice] = []
        self.imported: list[str] = []
        self.base_dir: Path | None = None
        self._thumbs: dict[str, QPixmap] = {}
        self._entries: list[dict] = []
        self._picker_key: tuple | None = None
        self.picker.itemClicked.connect(self._picked)
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.import_button.clicked.connect(self.import_image)

    # -- content ---------------------------------------------------------------------------------
    def set_content(self, entries: list[dict], weights: list[float], base_dir: Path | None) -> None:
        """Show the blend ``entries`` (``{style, weight?}``) with their ``weights`` at the frame."""
        row = max(self.blend.currentRow(), 0)
        self._entries, self.base_dir = entries, base_dir
        self.blend.blockSignals(True)
        self.blend.clear()
        total = sum(weights) or 1.0
        for entry, w in zip(entries, weights):
            text = entry["style"]
            share = f"  {100 * w / total:.0f} %" if len(entries) > 1 else ""
            item = QListWidgetItem(f"{Path(text).name if style_is_path(text) else text}{share}")
            item.setToolTip(text)
            pix = self._thumbs.get(text)
            if pix is not None:
                item.setIcon(QIcon(pix))
            self.blend.addItem(item)
        self.blend.setCurrentRow(min(row, len(entries) - 1))
        self.blend.blockSignals(False)
        self.remove_button.setEnabled(len(entries) > 1)
        rows = min(max(len(entries), 2), 4)  # room for two to four slots; more scroll
        self.blend.setFixedHeight(rows * 39 + 2 * self.blend.frameWidth() + 4)
        self._rebuild_picker([e["style"] for e in entries])

    def _rebuild_picker(self, used: list[str]) -> None:
        key = (tuple(used), tuple(self.imported), self.base_dir)
        if key == self._picker_key:
            return  # the user styles file is read again when the job's styles or folder change
        self._picker_key = key
        choices, error = style_choices(used, self.imported, self.base_dir)
        self.note.setText(error or "")
        if [c.style for c in choices] == [c.style for c in self.choices]:
            return
        self.choices = choices
        self.picker.clear()
        for c in choices:
            item = QListWidgetItem(c.label)
            item.setData(Qt.ItemDataRole.UserRole, c.style)
            item.setToolTip(f"{c.style} ({c.kind})")
            item.setIcon(QIcon(self._thumbs.get(c.style) or _placeholder(c.label)))
            self.picker.addItem(item)
        self.thumbnailsWanted.emit()

    def set_thumbnail(self, style: str, image: QImage) -> None:
        pix = _fitted(image)
        self._thumbs[style] = pix
        for i in range(self.picker.count()):
            item = self.picker.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == style:
                item.setIcon(QIcon(pix))
        for i, entry in enumerate(self._entries):
            if entry["style"] == style and self.blend.item(i) is not None:
                self.blend.item(i).setIcon(QIcon(pix))

    def has_thumbnail(self, style: str) -> bool:
        return style in self._thumbs

    def clear_thumbnails(self) -> None:
        self._thumbs.clear()
        for i in range(self.picker.count()):
            item = self.picker.item(i)
            item.setIcon(QIcon(_placeholder(item.text())))

    # -- actions ---------------------------------------------------------------------------------
    def pick(self, style: str) -> None:
        """Put ``style`` in the selected blend slot (the first when none is selected)."""
        self._set_style(max(self.blend.currentRow(), 0), style)

    def _picked(self, item: QListWidgetItem) -> None:
        self.pick(item.data(Qt.ItemDataRole.UserRole))

    def _add(self) -> None:
        item = self.picker.currentItem()
        style = item.data(Qt.ItemDataRole.UserRole) if item is not None else BUILTIN_STYLES[0]
        self._set_style(len(self._entries), style)
        self.blend.setCurrentRow(len(self._entries) - 1)

    def _remove(self) -> None:
        self._remove_style(self.blend.currentRow())

    def import_image(self, path: str | None = None) -> str | None:
        """Add an image file as a style choice and put it in the selected slot; returns its style text."""
        if not path:
            exts = " ".join(f"*{e}" for e in sorted(IMAGE_STYLE_EXTENSIONS))
            path, _ = QFileDialog.getOpenFileName(self, "Import a style image", "", f"Images ({exts})")
            if not path:
                return None
        full = Path(path).expanduser().resolve()
        text = str(full)
        if self.base_dir is not None:
            try:
                rel = os.path.relpath(full, self.base_dir)
                if not rel.startswith(".."):
                    text = rel
            except ValueError:
                pass
        if text not in self.imported:
            self.imported.append(text)
        self.pick(text)
        return text
