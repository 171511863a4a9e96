"""The mandate's operative paragraphs (resolution 20/7 is seeded as mandate 1)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import LedgerError, Problem
from .schema import Mandate, Paragraph

MANDATE_ID = 1


@dataclass(frozen=True)
class ParagraphView:
    id: int
    number: int
    short_title: str
    text: str


def paragraphs(session: Session, mandate_id: int = MANDATE_ID) -> list[ParagraphView]:
    rows = session.execute(
        select(Paragraph.id, Paragraph.number, Paragraph.short_title, Paragraph.text)
        .where(Paragraph.mandate_id == mandate_id)
        .order_by(Paragraph.number)
    )
    return [ParagraphView(*row) for row in rows]


def mandate_title(session: Session, mandate_id: int = MANDATE_ID) -> tuple[str, str]:
    row = session.execute(select(Mandate.code, Mandate.title).where(Mandate.id == mandate_id)).one()
    return row.code, row.title


def paragraph_ids(session: Session, mandate_id: int = MANDATE_ID) -> dict[int, int]:
    """number -> id"""
    return {p.number: p.id for p in paragraphs(session, mandate_id)}


def paragraph_id(uow, number: int, field: str = "paragraph") -> int:
    ids = uow.lookups.paragraph_ids
    if ids is None:
        ids = uow.lookups.paragraph_ids = paragraph_ids(uow.session)
    if number not in ids:
        raise LedgerError(Problem(field, f"resolution 20/7 has no operative paragraph {number} (it has {min(ids)}-{max(ids)})"))
    return ids[number]
