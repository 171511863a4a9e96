"""A table over a query that may return millions of rows, read a page at a time.

Nothing here touches the database: tables ask their screen's fetch function for a page,
and that function runs in a thread worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual_fastdatatable import DataTableBackend
from textual_fastdatatable.data_table import DataTable

# -- a table that reads its rows a page at a time --------------------------------------


PLACEHOLDER = "…"


class PagedBackend(DataTableBackend):
    """Rows are fetched a page at a time, when the table first needs one on screen."""

    def __init__(self, labels: Sequence[str], widths: Sequence[int], total: int, page_size: int,
                 on_missing: Callable[[int], None]):
        self._render_markup = False
        self.labels = list(labels)
        self.widths = list(widths)
        self.total = total
        self.page_size = page_size
        self.pages: dict[int, list[tuple]] = {}
        self.requested: set[int] = set()
        self.on_missing = on_missing
        self.data = None

    @classmethod
    def from_pydict(cls, data: Mapping[str, Sequence[Any]], max_rows: int | None = None,
                    column_names: Sequence[str] | None = None) -> PagedBackend:
        raise NotImplementedError

    @property
    def source_data(self) -> Any:
        return None

    @property
    def source_row_count(self) -> int:
        return self.total

    @property
    def row_count(self) -> int:
        return self.total

    @property
    def columns(self) -> Sequence[str]:
        return self.labels

    @property
    def column_content_widths(self) -> Sequence[int]:
        return self.widths

    def loaded_row(self, index: int) -> tuple | None:
        page = self.pages.get(index // self.page_size)
        if page is None:
            return None
        offset = index % self.page_size
        return page[offset] if offset < len(page) else None

    def get_row_at(self, index: int) -> Sequence[Any]:
        row = self.loaded_row(index)
        if row is None:
            number = index // self.page_size
            if number not in self.pages and number not in self.requested:
                self.requested.add(number)
                self.on_missing(number)
            return [PLACEHOLDER] * len(self.labels)
        return row

    def get_column_at(self, index: int) -> Sequence[Any]:
        return []

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        return self.get_row_at(row_index)[column_index]

    def append_column(self, label: str, default: Any | None = None) -> int:
        raise NotImplementedError

    def append_rows(self, records: Iterable[Iterable[Any]]) -> list[int]:
        raise NotImplementedError

    def drop_row(self, row_index: int) -> None:
        raise NotImplementedError

    def update_cell(self, row_index: int, column_index: int, value: Any) -> None:
        raise NotImplementedError

    def sort(self, by: Any) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Column:
    label: str
    width: int


class LazyTable(DataTable):
    """A table over a query that may return millions of rows.

    ``count()`` and ``fetch(offset, limit)`` run in thread workers; the table shows ``…`` for
    rows whose page has not arrived yet and asks only for pages that are on screen.
    The first column of every row is its key (a reference or an id).
    """

    PAGE_SIZE = 200

    class Counted(Message):
        def __init__(self, table: LazyTable, generation: int, total: int, first: list[tuple]):
            super().__init__()
            self.table, self.generation, self.total, self.first = table, generation, total, first

    class PageLoaded(Message):
        def __init__(self, table: LazyTable, generation: int, number: int, rows: list[tuple]):
            super().__init__()
            self.table, self.generation, self.number, self.rows = table, generation, number, rows

    class Ready(Message):
        """The count and the first page are in (posted to the screen)."""

        def __init__(self, table: LazyTable, total: int):
            super().__init__()
            self.table, self.total = table, total

    def __init__(self, columns: Sequence[Column], count: Callable[[], int],
                 fetch: Callable[[int, int], list[tuple]], **kwargs):
        self.count_rows = count
        self.fetch_rows = fetch
        self.generation = 0
        self.loaded = False
        self._wanted: set[int] = set()
        self._flush_timer = None
        backend = PagedBackend([c.label for c in columns], [c.width for c in columns], 0, self.PAGE_SIZE,
                               self._request_page)
        super().__init__(backend=backend, column_labels=[c.label for c in columns],
                         column_widths=[c.width for c in columns], cursor_type="row", render_markup=False,
                         zebra_stripes=True, **kwargs)

    @property
    def paged(self) -> PagedBackend:
        return self.backend  # type: ignore[return-value]

    def reload(self) -> None:
        """Count again and refetch (after a filter, a sort or a write)."""
        self.generation += 1
        self.loaded = False
        self._count(self.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="count")
    def _count(self, generation: int) -> None:
        total = self.count_rows()
        first = self.fetch_rows(0, self.PAGE_SIZE) if total else []
        self.post_message(self.Counted(self, generation, total, first))

    def _request_page(self, number: int) -> None:
        """Called while rendering: collect the pages asked for, and load those still on screen a
        moment later (a jump to the end scrolls past hundreds of pages nobody looks at)."""
        self._wanted.add(number)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(0.03, self._flush_pages)

    def _flush_pages(self) -> None:
        self._flush_timer = None
        visible = self._visible_pages()
        for number in sorted(self._wanted):
            if number in visible:
                self._load_page(self.generation, number)
            else:
                self.paged.requested.discard(number)
        self._wanted.clear()
        # a jump may still be scrolling: look again once it has landed (rows drawn as "…"
        # before it are cached, so nothing would ask for their page again)
        self.call_after_refresh(self._load_visible_pages)

    def _visible_pages(self) -> set[int]:
        top = max(int(self.scroll_offset.y) - 1, 0)
        bottom = top + self.size.height + 1
        visible = set(range(top // self.PAGE_SIZE, bottom // self.PAGE_SIZE + 1))
        visible.add(self.cursor_row // self.PAGE_SIZE)
        return {n for n in visible if n * self.PAGE_SIZE < max(self.paged.total, 1)}

    def _load_visible_pages(self) -> None:
        if not self.loaded:
            return
        for number in sorted(self._visible_pages()):
            if number not in self.paged.pages and number not in self.paged.requested:
                self.paged.requested.add(number)
                self._load_page(self.generation, number)

    def watch_cursor_coordinate(self, old, new) -> None:
        super().watch_cursor_coordinate(old, new)
        # a jump made while the table was still sizing itself may not have scrolled: scroll
        # again once laid out, and fetch the cursor's page
        self.call_after_refresh(self._scroll_cursor_into_view)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(0.03, self._flush_pages)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(0.03, self._flush_pages)

    @work(thread=True, exit_on_error=False, group="page")
    def _load_page(self, generation: int, number: int) -> None:
        rows = self.fetch_rows(number * self.PAGE_SIZE, self.PAGE_SIZE)
        self.post_message(self.PageLoaded(self, generation, number, rows))

    def on_lazy_table_counted(self, message: Counted) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        backend = self.paged
        backend.total = message.total
        backend.pages = {0: message.first} if message.total else {}
        backend.requested = set()
        self.loaded = True
        self._repaint()
        if self.cursor_row >= message.total:
            self.move_cursor(row=max(message.total - 1, 0))
        self.post_message(self.Ready(self, message.total))

    def on_lazy_table_page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        self.paged.pages[message.number] = message.rows
        self._repaint()

    def _repaint(self) -> None:
        self._clear_caches()
        self._update_dimensions([])
        self.refresh()

    def row_key(self, index: int | None = None) -> Any:
        """The key (first column) of a loaded row, by default the one under the cursor."""
        if not self.loaded or self.paged.total == 0:
            return None
        row = self.paged.loaded_row(self.cursor_row if index is None else index)
        if row is None:
            return None
        return row[0].plain if isinstance(row[0], Text) else row[0]  # a styled key (e.g. struck through)
