"""Refusals: a business rule, a role or bad input. Each carries one message per problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is not loaded by those who only raise or catch refusals (the TUI's start)
    from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class LedgerError(Exception):
    """The ledger refused what was asked; nothing was written."""

    def __init__(self, *problems: Problem | str):
        self.problems = [p if isinstance(p, Problem) else Problem("", p) for p in problems]
        super().__init__("; ".join(str(p) for p in self.problems))


class PermissionDenied(LedgerError):
    pass


class NotFound(LedgerError):
    pass


def problems_of(exc: ValidationError) -> list[Problem]:
    """One Problem per pydantic error, named by its field, with pydantic's wording cleaned."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "input"
        message = err["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        # a MoneyError already names its field
        if message.startswith(f"{field}: "):
            message = message[len(field) + 2:]
        problems.append(Problem(field, message))
    return problems


def refusal(exc: ValidationError) -> LedgerError:
    return LedgerError(*problems_of(exc))
