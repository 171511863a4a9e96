"""Pieces every screen uses: number formats, dialogs, the help screen (the paged table is in
``tui.tables``, kept apart so that the dashboard starts without loading it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

# -- formats -----------------------------------------------------------------------------


def amount(value: Decimal | None) -> str:
    """1,234,567.89 (exact, as stored; never -0.00)."""
    if value is None:
        return ""
    text = f"{value:,}"
    return text[1:] if text.startswith("-") and value == 0 else text


def money_cell(value: Decimal | None, width: int = 14) -> str:
    """Right-aligned in a column of ``width`` cells (the paged table does not measure cells)."""
    return amount(value).rjust(width)


def usd_cents(cents: int) -> str:
    return amount(Decimal(cents).scaleb(-2).quantize(Decimal("0.01")))


def percent(value: Decimal | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def describe(posted: Any) -> str:
    """What a saved event posted, for its notification: reference, journal entry, USD, detail."""
    text = getattr(posted, "reference", str(posted))
    entry = getattr(posted, "entry_id", None)
    usd = getattr(posted, "usd_cents", None)
    parts = [f"{text}: journal entry {entry}" if entry else str(text)]
    if usd is not None:
        parts.append(f"USD {amount(Decimal(usd).scaleb(-2).quantize(Decimal('0.01')))}")
    detail = getattr(posted, "detail", "")
    if detail:
        parts.append(detail)
    return ", ".join(parts)


def bar(parts: Sequence[tuple[float, str, str]], width: int, room: int | None = None) -> Text:
    """A horizontal bar of ``width`` cells: (fraction of the width, character, style) per segment,
    drawn into the first ``room`` cells (default: all of them) and padded to ``room``."""
    room = width if room is None else room
    text = Text()
    used = 0
    for fraction, char, style in parts:
        cells = max(0, min(room - used, round(fraction * width)))
        if cells:
            text.append(char * cells, style=style)
            used += cells
    if used < room:
        text.append(" " * (room - used))
    return text


# -- dialogs -----------------------------------------------------------------------------


class MessageDialog(ModalScreen[None]):
    """A titled list of messages (errors, results); Escape or Enter closes it."""

    BINDINGS: ClassVar = [Binding("escape,enter", "dismiss", "Close")]
    DEFAULT_CSS = """
    MessageDialog { align: center middle; }
    MessageDialog > Vertical { width: 90; max-width: 95%; height: auto; max-height: 80%;
        border: thick $error; background: $surface; padding: 1 2; }
    MessageDialog.info > Vertical { border: thick $success; }
    MessageDialog #title { text-style: bold; margin-bottom: 1; }
    MessageDialog VerticalScroll { height: auto; max-height: 20; }
    MessageDialog Button { margin-top: 1; }
    """

    def __init__(self, title: str, messages: Sequence[str], error: bool = True):
        super().__init__(classes="" if error else "info")
        self.title_text = title
        self.messages = list(messages)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="title")
            with VerticalScroll():
                for message in self.messages:
                    yield Static(Text(message), classes="message")
            yield Button("Close (Esc)", id="close", variant="primary")

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.dismiss()


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS: ClassVar = [Binding("escape,n", "dismiss(False)", "No"), Binding("y", "dismiss(True)", "Yes")]
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 70; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    """

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question))
            yield Static("[b]y[/b] yes    [b]n[/b] / Esc no")


class HelpScreen(ModalScreen[None]):
    """What the screen shows and its keys (the `?` key)."""

    BINDINGS: ClassVar = [Binding("escape,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 95%; height: 85%; border: thick $primary;
        background: $surface; padding: 0 1; }
    """

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            from textual.widgets import Markdown  # loaded with the first help shown, not at start

            yield Markdown(self.text)


SPOKEN_KEYS = {"escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "Space"}


def key_label(keys: str) -> str:
    """A binding's keys as a person reads them: ``question_mark`` is ``?``, ``escape,n`` is ``Esc / n``."""
    labels = []
    for key in keys.split(","):
        *modifiers, last = key.strip().split("+")
        labels.append("+".join([*modifiers, SPOKEN_KEYS.get(last) or format_key(last)]))
    return " / ".join(labels)


def keys_help(bindings: Iterable[Binding | tuple]) -> str:
    lines = ["| key | action |", "|---|---|"]
    seen = set()
    for binding in bindings:
        if isinstance(binding, tuple):
            key, description = binding[0], binding[2] if len(binding) > 2 else binding[1]
        else:
            key, description = binding.key, binding.description
        if key.startswith("super+") or (key, description) in seen:  # the terminal's own copy key, repeats
            continue
        seen.add((key, description))
        if description:
            lines.append(f"| `{key_label(key)}` | {description.capitalize() if description.islower() else description} |")
    return "\n".join(lines)
