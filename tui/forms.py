"""Forms: modal screens that validate as the user types with the ledger's own input models.

A form builds a dict from its fields, runs the same pydantic model as the command line and
the importers (``ledger.inputs``), and shows each problem under the field it concerns
(``ledger.errors.problems_of``). Saving runs the service function in a thread worker; a
refusal from the ledger (a business rule, a role) comes back as problems at the fields too.
Escape leaves without saving.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static
from textual_autocomplete import AutoComplete, DropdownItem, DropdownItemHit, TargetState

from ledger.errors import LedgerError, Problem, problems_of


def field_id(name: str) -> str:
    return "f-" + name.replace(".", "-").replace("_", "-")


def problem_id(name: str) -> str:
    return "p-" + name.replace(".", "-").replace("_", "-")


class CodePicker(AutoComplete):
    """Type-ahead over ``CODE · description`` items; choosing one puts only the code in the input.

    Only candidates that contain what was typed are offered, ranked: the code itself first, then
    codes that start with it, then codes and descriptions that contain it (each group in the
    order given). Tab or Enter takes the highlighted candidate and moves on to the next field
    (a complete code typed is the highlighted candidate, so it stays as typed); Down/Up move
    through the list, Escape closes it. The input then reports the change like any typing, so
    the form validates it (and, say, fills the donor's currency).
    """

    def __init__(self, target: Input, candidates: list[DropdownItem]) -> None:
        super().__init__(target, candidates, prevent_default_enter=False, prevent_default_tab=False)
        self._completed: str | None = None

    def get_matches(self, target_state: TargetState, candidates: list[DropdownItem],
                    search_string: str) -> list[DropdownItem]:
        query = search_string.strip().casefold()
        if not query:
            return candidates
        ranked: list[tuple[int, int, DropdownItem]] = []
        for index, candidate in enumerate(candidates):
            text = candidate.value.casefold()
            code = text.split(" · ", 1)[0]
            if code == query:
                rank, start = 0, 0
            elif code.startswith(query):
                rank, start = 1, 0
            else:
                start = text.find(query)
                if start < 0:
                    continue
                rank = 2 if start < len(code) else 3
            main = self.apply_highlights(candidate.main, tuple(range(start, start + len(query))))
            ranked.append((rank, index, DropdownItemHit(main, candidate.prefix, candidate.id, candidate.disabled)))
        ranked.sort(key=lambda item: item[:2])
        return [item for _, _, item in ranked]

    def should_show_dropdown(self, search_string: str) -> bool:
        if self._completed is not None and search_string == self._completed:
            return False  # just chosen: the list stays closed until the user types again
        self._completed = None
        return super().should_show_dropdown(search_string)

    def apply_completion(self, value: str, state: TargetState) -> None:
        code = value.split(" · ", 1)[0].strip()
        target = self.target
        self._completed = code
        target.value = code
        target.cursor_position = len(code)

    def post_completion(self) -> None:
        self.action_hide()
        # the completion was made with Input.Changed prevented: report it now, as typing would
        target = self.target
        target.post_message(Input.Changed(target, target.value))


def picker_items(pairs: Iterable[tuple[str, str]]) -> list[DropdownItem]:
    return [DropdownItem(f"{code} · {text}" if text else code) for code, text in pairs]


class FormField(Vertical):
    """A label, a control and the line where its problem shows."""

    def __init__(self, name: str, label: str, control: Widget, hint: str = "", classes: str = ""):
        super().__init__(classes=("field " + classes).strip())
        self.field_name = name
        self.label_text = label
        self.control = control
        self.hint = hint

    def compose(self) -> ComposeResult:
        yield Label(self.label_text, classes="field-label")
        yield self.control
        yield Static("", id=problem_id(self.field_name), classes="problem")
        if self.hint:
            yield Static(self.hint, classes="hint")


@dataclass(frozen=True)
class SavedRecord:
    """What a reference-data form saved: the message to show and the key of its row (to select it)."""

    text: str
    key: str

    def __str__(self) -> str:
        return self.text


class FormScreen(ModalScreen[Any]):
    """Subclasses set MODEL and TITLE, compose fields with :meth:`field`, build the
    model's input in :meth:`values` and write in :meth:`save` (called in a worker)."""

    MODEL: ClassVar[type[BaseModel]]
    TITLE: ClassVar[str] = "Form"
    HELP: ClassVar[str] = ""
    CSS_PATH = "forms.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Back without saving"),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("f1", "help", "Help"),
    ]

    class Saved(Message):
        def __init__(self, result: Any):
            super().__init__()
            self.result = result

    class Refused(Message):
        def __init__(self, problems: list[Problem]):
            super().__init__()
            self.problems = problems

    def __init__(self) -> None:
        super().__init__()
        self.touched: set[str] = set()
        self.valid: BaseModel | None = None
        self.saving = False
        self.correcting: tuple[int, BaseModel] | None = None  # (entry, its content): saving corrects it

    def correct(self, entry_id: int, content: BaseModel) -> FormScreen:
        """This form, opened to correct entry ``entry_id``: filled in with the event's ``content``, its
        reference fixed, a reason asked; saving reverses the entry and posts the form's content
        (docs/rules.md#corrections)."""
        self.correcting = (entry_id, content)
        return self

    def fill(self, content: BaseModel) -> None:
        """Put ``content`` into the fields named as its model's (a subclass fills the others)."""
        for name, value in content.model_dump().items():
            found = self.query(f"#{field_id(name)}")
            if found and isinstance(found.first(), Input):
                found.first(Input).value = "" if value is None else str(value)
        for kept in ("reference", "pledge"):  # the reference a correction keeps
            if self.query(f"#{field_id(kept)}"):
                self.query_one(f"#{field_id(kept)}").disabled = True

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            title = f"Correct entry {self.correcting[0]} · {self.TITLE}" if self.correcting else self.TITLE
            yield Label(title, id="form-title")
            with VerticalScroll(id="form-body"):
                yield from self.compose_fields()
                if self.correcting:
                    yield self.field("correction_reason", "Reason for the correction",
                                     placeholder="kept in the journal with the reversal")
            yield Static("", id="form-problems")
            yield from self.compose_extra()
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")
        yield Footer()

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def field(self, name: str, label: str, value: str = "", placeholder: str = "", hint: str = "",
              disabled: bool = False, classes: str = "") -> FormField:
        control = Input(value=value, placeholder=placeholder, id=field_id(name), disabled=disabled)
        return FormField(name, label, control, hint, classes)

    def choice(self, name: str, label: str, options: list[tuple[str, Any]], value: Any = Select.BLANK,
               allow_blank: bool = False, hint: str = "") -> FormField:
        control = Select(options, value=value, allow_blank=allow_blank, id=field_id(name))
        return FormField(name, label, control, hint)

    def text(self, name: str) -> str:
        return self.query_one(f"#{field_id(name)}", Input).value

    def selected(self, name: str) -> Any:
        value = self.query_one(f"#{field_id(name)}", Select).value
        return None if value is Select.BLANK else value

    def set_text(self, name: str, value: str) -> None:
        self.query_one(f"#{field_id(name)}", Input).value = value

    # -- validation --------------------------------------------------------------------------
    def values(self) -> dict:
        raise NotImplementedError

    def extra_problems(self, model: BaseModel) -> list[Problem]:
        """Checks of the form itself that are not the model's (e.g. the pledge's running remainder)."""
        return []

    def validate_form(self, show_all: bool = False) -> bool:
        problems: list[Problem] = []
        self.valid = None
        try:
            model = self.MODEL.model_validate(self.values())
        except ValidationError as exc:
            problems = problems_of(exc)
        else:
            problems = self.extra_problems(model)
            if self.correcting and not self.text("correction_reason").strip():
                problems.append(Problem("correction_reason", "give the reason for the correction"))
            if not problems:
                self.valid = model
        self.show_problems(problems, show_all)
        self.after_validation()
        return self.valid is not None

    def after_validation(self) -> None:
        pass

    def show_problems(self, problems: list[Problem], show_all: bool = True) -> None:
        for widget in self.query(".problem"):
            widget.update("")
        general: list[str] = []
        for problem in problems:
            target = self._problem_widget(problem.field)
            name = problem.field
            if target is None:
                general.append(str(problem))
                continue
            if not show_all and not self._touched(name):
                continue
            target.update(Text(problem.message))
        box = self.query_one("#form-problems", Static)
        if general and (show_all or self.touched):
            box.update(Text("\n".join(general)))
        else:
            box.update("")

    def _touched(self, name: str) -> bool:
        return any(name == t or name.startswith(t + ".") or t.startswith(name + ".") for t in self.touched)

    def _problem_widget(self, name: str) -> Static | None:
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            found = self.query(f"#{problem_id(candidate)}")
            if found:
                return found.first(Static)
        return None

    def _name_of(self, widget: Widget) -> str | None:
        parent = widget.parent
        while parent is not None and not isinstance(parent, FormField):
            parent = parent.parent
        return parent.field_name if isinstance(parent, FormField) else None

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        name = self._name_of(event.control)
        if name and (not isinstance(event, Input.Changed) or event.value):
            self.touched.add(name)
        self.field_changed(name)
        self.validate_form()

    def field_changed(self, name: str | None) -> None:
        pass

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    # -- saving ----------------------------------------------------------------------------
    def save(self, model: BaseModel) -> Any:
        raise NotImplementedError

    def action_save(self) -> None:
        if self.saving:
            return
        if not self.validate_form(show_all=True):
            self.notify("Not saved: correct the fields marked in red.", severity="warning")
            return
        self.saving = True
        self.query_one("#form-problems", Static).update("Saving…")
        self._save(self.valid)

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def _save(self, model: BaseModel) -> None:
        # ``saving`` is cleared by the handlers of these messages, on the event loop: cleared here,
        # a ctrl+s before the form closes would save a second time
        try:
            if self.correcting:
                from ledger import services

                result = services.correct(self.app.ledger, self.correcting[0], self.text("correction_reason"),
                                          model.model_dump())
            else:
                result = self.save(model)
        except LedgerError as exc:
            self.post_message(self.Refused(exc.problems))
        except Exception as exc:  # noqa: BLE001 - shown at the form, which stays usable
            self.post_message(self.Refused([Problem("", f"not saved: {type(exc).__name__}: {exc}")]))
        else:
            self.post_message(self.Saved(result))

    def on_form_screen_saved(self, message: Saved) -> None:
        self.dismiss(message.result)

    def on_form_screen_refused(self, message: Refused) -> None:
        self.saving = False
        self.show_problems(message.problems, show_all=True)
        box = self.query_one("#form-problems", Static)
        lines = [str(p) for p in message.problems]
        box.update(Text("Refused, nothing was written:\n" + "\n".join(lines), style="bold"))
        self.notify("\n".join(lines), title="Refused, nothing was written", severity="error")

    def on_mount(self) -> None:
        self._initial: dict | None = None
        self.call_after_refresh(self._remember_initial)  # after the subclass has filled its fields

    def _remember_initial(self) -> None:
        if self.correcting:
            self.fill(self.correcting[1])
        self._initial = self.values()

    def action_cancel(self) -> None:
        """Back without saving; if something was typed, only once the user confirms it may be lost."""
        if self._initial is None or self.values() == self._initial:
            self.dismiss(None)
            return
        from .common import ConfirmDialog

        self.app.push_screen(ConfirmDialog(f"Leave “{self.TITLE}” without saving? What you typed is lost."),
                             lambda leave: self.dismiss(None) if leave else None)

    def action_help(self) -> None:
        from .common import HelpScreen, keys_help

        self.app.push_screen(HelpScreen(f"# {self.TITLE}\n\n{self.HELP}\n\n"
                                        "Problems show under each field as you type; the form saves only "
                                        "when every field is valid, and the ledger may still refuse (the "
                                        "reason shows here, and nothing is written).\n\n"
                                        + keys_help(self.BINDINGS)))

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


def open_correction(screen, entry_id: int, form_of, callback) -> None:
    """Read the event of entry ``entry_id`` (in a worker, with its pledge's detail for an event on a
    pledge, and the paragraphs for a reallocation), then open ``form_of(content, detail, paragraphs)``
    filled in with it, to correct it."""
    from ledger import queries, services
    from ledger.inputs import ReallocationIn

    app = screen.app

    def load() -> None:
        try:
            content = services.correction_content(app.ledger, entry_id)
        except LedgerError as exc:
            app.call_from_thread(app.notify, "\n".join(map(str, exc.problems)), title="Cannot correct", severity="error")
            return
        on_pledge = "pledge" in type(content).model_fields  # an event on a pledge: a receipt, a refund, a schedule...
        detail = queries.pledge_detail(app.ledger, content.pledge) if on_pledge else None
        paragraphs = [p.number for p in queries.paragraphs(app.ledger)] if isinstance(content, ReallocationIn) else []
        app.call_from_thread(lambda: app.push_screen(form_of(content, detail, paragraphs).correct(entry_id, content),
                                                     callback))

    screen.run_worker(load, thread=True, exit_on_error=False, group="correct")

