"""Refusals: a business rule, a role or bad input. Each carries one message per problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is not loaded by those who only raise or catch refusals (the TUI's start)
    from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """One problem at its location: ``field`` is an input field or file column ("amount"), or a
    dotted path into a model ("allocations.2.amount": the third allocation's amount); empty when
    the problem concerns the whole input."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def index_in(self, name: str) -> int | None:
        """The position this problem's field names in the list ``name``:
        2 for "allocations.2.amount" and "allocations"; None when it names none."""
        parts = self.field.split(".")
        if len(parts) > 1 and parts[0] == name and parts[1].isdigit():
            return int(parts[1])
        return None


class LedgerError(Exception):
    """The ledger refused what was asked; nothing was written."""

    def __init__(self, *problems: Problem | str):
        self.problems = [p if isinstance(p, Problem) else Problem("", p) for p in problems]
        super().__init__("; ".join(str(p) for p in self.problems))


class InputProblems(ValueError):
    """Raised by an input model's validator for problems that each have their own location (one
    per allocation of a pledge, say): ``problems_of`` places every one at its field."""

    def __init__(self, *problems: Problem):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class PermissionDenied(LedgerError):
    pass


class NotFound(LedgerError):
    pass


def problems_of(exc: ValidationError) -> list[Problem]:
    """One Problem per pydantic error, named by its field, in a finance officer's words."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        located = (err.get("ctx") or {}).get("error")
        if isinstance(located, InputProblems):
            problems += [Problem(".".join(filter(None, (where, p.field))), p.message) for p in located.problems]
            continue
        field = where or "input"
        message = _plain_words(err) or err["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        # a MoneyError already names its field
        if message.startswith(f"{field}: "):
            message = message[len(field) + 2:]
        problems.append(Problem(field, message))
    return problems


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _plain_words(err: dict) -> str | None:
    """pydantic's most common errors said plainly, with the value given; None keeps its wording."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{_shown(value)} is not a whole number"
    if kind == "string_too_long":
        return f"text of {len(value)} characters; at most {ctx['max_length']} are allowed"
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least <= 1 or not value else f"{_shown(value)} is too short: at least {least} characters"
    if kind in ("less_than_equal", "less_than", "greater_than_equal", "greater_than"):
        bound = {"less_than_equal": "at most", "less_than": "below", "greater_than_equal": "at least",
                 "greater_than": "above"}[kind]
        limit = next(iter(ctx.values()))
        return f"{_shown(value)} is out of range: must be {bound} {limit}"
    if kind == "literal_error":
        return f"{_shown(value)} is not one of: {str(ctx.get('expected', '')).replace(chr(39), '')}"
    return None

