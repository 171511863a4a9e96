"""Input models: one pydantic model per thing a user enters.

The command line, the importers and the TUI forms all validate through these models, so
every rule about the shape of input, and its message, exists once. Rules that need the
ledger (does the donor exist? is there enough money?) live in the service functions.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from .errors import InputProblems, Problem
from .money import (
    MAX_MAJOR_UNITS,
    MoneyError,
    minor_digits,
    parse_decimal,
    parse_money,
    parse_rate,
    rate_decimal,
)
from .roles import Role

DONOR_KINDS = ("member-state", "intergovernmental", "private-sector", "foundation", "other")
ACTIVITY_STATUSES = ("planned", "ongoing", "completed", "cancelled")
DEFAULT_PSC_RATE = Decimal("13")


def _blank_to_none(value: object) -> object:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+(\.0+)?", re.ASCII)


def _iso_date(value: object) -> object:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ValueError(f"expected a date without a time, got {value.isoformat()}")
        return value.date()
    if isinstance(value, str) and _ISO_DATE.fullmatch(text := value.strip()):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid date") from None
    raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")


def _decimal(value: object) -> object:
    if value is None:
        return value
    try:
        return parse_decimal(value)
    except MoneyError as exc:
        raise ValueError(str(exc).removeprefix("amount: ")) from None


def _currency(value: str) -> str:
    code = value.upper()
    minor_digits(code)  # raises MoneyError (a ValueError) naming the code
    return code


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_iso_date), BeforeValidator(_blank_to_none)]
Amount = Annotated[Decimal, BeforeValidator(_decimal)]


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"must be greater than zero, got {value}")
    if value > MAX_MAJOR_UNITS:
        raise ValueError(f"{value} exceeds the maximum of 10^12")
    return value


# in the currency of a pledge, whose decimals are checked once the pledge is known
PositiveAmount = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_positive)]
OptionalAmount = Annotated[Decimal | None, BeforeValidator(_decimal), BeforeValidator(_blank_to_none)]
Reference = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=32767)]
CurrencyCode = Annotated[str, Field(min_length=1), AfterValidator(_currency)]  # its length: ISO 4217's message
OptionalCurrency = Annotated[
    str | None, AfterValidator(lambda v: v and _currency(v)),
    BeforeValidator(_blank_to_none),
]
ParagraphNumber = Annotated[int, Field(ge=1, le=999)]
OptionalParagraph = Annotated[int | None, Field(ge=1, le=999), BeforeValidator(_blank_to_none)]


def _percent(value: object) -> object:
    """A number of percent typed with its sign ("13%", "13 %") is that number."""
    if isinstance(value, str) and (text := value.strip()).endswith("%"):
        return text[:-1].rstrip() or value  # "%" alone stays what it is: not a number
    return value


def whole_number(value: object) -> object:
    """Integers from text or spreadsheet numbers ('4', 4.0), never from '4.5'."""
    value = _blank_to_none(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(text := value.strip()):
        return int(Decimal(text))
    return value


class Model(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, frozen=True, extra="forbid")


# Donor codes are kept in capitals (like the ISO codes most of them are): "nor" finds NOR.
DonorCode = Annotated[str, Field(min_length=1, max_length=64),
                      BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v)]


# an IATI organisation identifier: a registration agency's prefix (country or XM/XI, a hyphen, the
# agency), a hyphen and the organisation's id in that register (XM-DAC-5, GB-GOV-1, XI-IATI-EC_INTPA)
IATI_ORG_REF = re.compile(r"[A-Z]{2}-[A-Za-z0-9]+-[^\s/&|?]{1,80}")
IATI_ORG_REF_SHAPE = ("an IATI organisation identifier such as XM-DAC-41119 (a registration agency prefix such as "
                      "XM-DAC or GB-GOV, a hyphen, the id)")


class DonorIn(Model):
    code: DonorCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["member-state", "intergovernmental", "private-sector", "foundation", "other"] = "other"
    country: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    currency: OptionalCurrency = None
    iati_ref: Annotated[str | None, BeforeValidator(_blank_to_none)] = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> object:
        value = _blank_to_none(value)
        return "other" if value is None else str(value).strip().lower()

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import pycountry

        code = value.upper()
        if len(code) != 3 or pycountry.countries.get(alpha_3=code) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-3 country code (e.g. NOR, USA, JPN)")
        return code

    @field_validator("iati_ref")
    @classmethod
    def _iati_ref(cls, value: str | None) -> str | None:
        if value is not None and not IATI_ORG_REF.fullmatch(value):
            raise ValueError(f"{value!r} is not {IATI_ORG_REF_SHAPE}")
        return value


class RateIn(Model):
    currency: CurrencyCode
    effective_from: IsoDate
    units_per_usd: Amount
    # needed to correct a stored rate (a different value for the same currency and date)
    reason: Annotated[str | None, Field(max_length=500), BeforeValidator(_blank_to_none)] = None

    @field_validator("units_per_usd")
    @classmethod
    def _rate(cls, value: Decimal) -> Decimal:
        try:
            return rate_decimal(parse_rate(value))
        except MoneyError as exc:
            raise ValueError(str(exc).removeprefix("units_per_usd: ")) from None

    @property
    def rate_micros(self) -> int:
        return parse_rate(self.units_per_usd)


class ActivityIn(Model):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    paragraph: Annotated[ParagraphNumber, BeforeValidator(whole_number)]
    title: Annotated[str, Field(min_length=1, max_length=500)]
    budget_usd: Amount
    planned_start: OptionalDate = None
    planned_end: OptionalDate = None
    status: Literal["planned", "ongoing", "completed", "cancelled"] = "planned"
    progress_pct: Annotated[int, Field(ge=0, le=100),
                            BeforeValidator(lambda v: 0 if _blank_to_none(v) is None else whole_number(_percent(v)))] = 0

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        value = _blank_to_none(value)
        return "planned" if value is None else str(value).strip().lower()

    @field_validator("budget_usd")
    @classmethod
    def _budget(cls, value: Decimal) -> Decimal:
        try:
            return parse_money(value, "USD", "budget_usd", allow_zero=True)
        except MoneyError as exc:
            raise ValueError(str(exc).removeprefix("budget_usd: ")) from None

    @model_validator(mode="after")
    def _dates(self) -> ActivityIn:
        if self.planned_start and self.planned_end and self.planned_end < self.planned_start:
            raise InputProblems(Problem("planned_end", "planned_end is before planned_start"))
        return self


class ActivityUpdate(Model):
    code: str
    progress_pct: Annotated[int | None, Field(ge=0, le=100), BeforeValidator(lambda v: whole_number(_percent(v)))] = None
    status: Literal["planned", "ongoing", "completed", "cancelled"] | None = None
    budget_usd: Decimal | None = None  # a revision, which needs a reason (docs/rules.md#activities)
    reason: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("budget_usd", mode="before")
    @classmethod
    def _budget(cls, value: object) -> object:
        value = _blank_to_none(value)
        if value is None:
            return None
        try:
            return parse_money(value, "USD", "budget_usd", allow_zero=True)
        except MoneyError as exc:
            raise ValueError(str(exc).removeprefix("budget_usd: ")) from None


class AllocationIn(Model):
    paragraph: Annotated[OptionalParagraph, BeforeValidator(whole_number)] = None  # None: unearmarked
    amount: Amount


def paragraph_label(paragraph: int | None) -> str:
    """How a user names an allocation's paragraph: "¶4", or "unearmarked" for None."""
    return "unearmarked" if paragraph is None else f"¶{paragraph}"


def checked_allocations(allocations: list[AllocationIn], currency: str) -> list[AllocationIn]:
    """A pledge's allocations: at most one per paragraph and one unearmarked, each amount valid
    in ``currency``; returned in paragraph order, unearmarked last, each amount written with the
    currency's decimals (an allocation already written that way is kept as it is). Raises
    InputProblems with one problem per faulty allocation, at ``allocations.I.paragraph`` or
    ``allocations.I.amount`` (I: its position in ``allocations``)."""
    problems = []
    seen: set[int | None] = set()
    checked = []
    digits = minor_digits(currency)
    for i, allocation in enumerate(allocations):
        if allocation.paragraph in seen:
            problems.append(Problem(
                f"allocations.{i}.paragraph",
                f"a second allocation to {paragraph_label(allocation.paragraph)}: "
                "at most one per paragraph and one unearmarked",
            ))
        seen.add(allocation.paragraph)
        amount = allocation.amount
        if amount.as_tuple().exponent == -digits and 0 < amount <= MAX_MAJOR_UNITS:
            checked.append(allocation)  # already as parse_money would write it
            continue
        try:
            amount = parse_money(amount, currency)
        except MoneyError as exc:
            problems.append(Problem(f"allocations.{i}.amount", str(exc).removeprefix("amount: ")))
            continue
        same = str(allocation.amount) == str(amount)
        checked.append(allocation if same else AllocationIn.model_construct(paragraph=allocation.paragraph, amount=amount))
    if problems:
        raise InputProblems(*problems)
    if len(checked) > 1:
        checked.sort(key=lambda a: (a.paragraph is None, a.paragraph or 0))
    return checked


class PledgeIn(Model):
    reference: Reference
    donor: DonorCode
    pledged_on: IsoDate
    currency: CurrencyCode
    allocations: Annotated[list[AllocationIn], Field(min_length=1)]
    psc_rate: Annotated[Decimal, BeforeValidator(
        lambda v: DEFAULT_PSC_RATE if _blank_to_none(v) is None else _decimal(_percent(v)))] = DEFAULT_PSC_RATE
    due_on: OptionalDate = None
    notes: Annotated[str, BeforeValidator(lambda v: v or "")] = ""
    # docs/rules.md#pledge-stages: "announced" or "signed" (signed_on: pledged_on unless given)
    stage: Annotated[Literal["announced", "signed"], BeforeValidator(
        lambda v: str(v).strip().lower() if _blank_to_none(v) is not None else "signed")] = "signed"
    signed_on: OptionalDate = None

    @field_validator("psc_rate")
    @classmethod
    def _psc(cls, value: Decimal) -> Decimal:
        if value is DEFAULT_PSC_RATE:  # the column left empty (most rows)
            return value
        if value < 0 or value > 100:
            raise ValueError(f"must be between 0 and 100 percent, got {value}")
        if value != value.quantize(Decimal("0.01")):
            raise ValueError(f"{value} has more than 2 decimals")
        return value.quantize(Decimal("0.01")).normalize() if value else Decimal(0)

    @model_validator(mode="after")
    def _allocations(self) -> PledgeIn:
        problems = []
        try:
            object.__setattr__(self, "allocations", checked_allocations(self.allocations, self.currency))
        except InputProblems as exc:
            problems += exc.problems
        if self.due_on and self.due_on < self.pledged_on:
            problems.append(Problem("due_on", f"{self.due_on} is before pledged_on ({self.pledged_on})"))
        if self.stage == "announced" and self.signed_on is not None:
            problems.append(Problem("signed_on", f"an announced pledge has no signing date (got {self.signed_on}): leave "
                                                 "signed_on empty, or give stage signed"))
        elif self.stage == "signed" and self.signed_on is None:
            object.__setattr__(self, "signed_on", self.pledged_on)
        elif self.signed_on is not None and self.signed_on < self.pledged_on:
            problems.append(Problem("signed_on", f"{self.signed_on} is before pledged_on ({self.pledged_on}): a pledge "
                                                 "is signed on or after it is announced"))
        if problems:
            raise InputProblems(*problems)
        return self

    def with_allocations(self, allocations: list[AllocationIn]) -> PledgeIn:
        """This pledge with other (already validated) allocations, checked together: the pledge
        of several import rows, whose other fields were validated row by row."""
        return self.model_copy(update={"allocations": checked_allocations(allocations, self.currency)})

    @property
    def psc_rate_bp(self) -> int:
        return int(self.psc_rate * 100)

    @property
    def psc_rate_given(self) -> bool:
        """False where the pledge gives no PSC rate: the ledger's ``default_psc_rate`` applies."""
        return self.psc_rate is not DEFAULT_PSC_RATE


class ReceiptIn(Model):
    """Amount in the pledge's currency: its decimals are checked once the pledge is known."""

    reference: Reference
    pledge: Reference
    received_on: IsoDate
    amount: PositiveAmount
    usd_amount: OptionalAmount = None
    bank_reference: Annotated[str, BeforeValidator(lambda v: v or ""), Field(max_length=200)] = ""

    @field_validator("usd_amount")
    @classmethod
    def _usd(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        try:
            return parse_money(value, "USD", "usd_amount")
        except MoneyError as exc:
            raise ValueError(str(exc).removeprefix("usd_amount: ")) from None


class DisbursementIn(Model):
    reference: Reference
    activity: Annotated[str, Field(min_length=1, max_length=64)]
    disbursed_on: IsoDate
    amount: Amount
    currency: Annotated[CurrencyCode, BeforeValidator(lambda v: "USD" if _blank_to_none(v) is None else v)] = "USD"
    pledge: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    payee: Annotated[str, BeforeValidator(lambda v: v or ""), Field(max_length=200)] = ""
    description: Annotated[str, BeforeValidator(lambda v: v or "")] = ""

    @model_validator(mode="after")
    def _amount(self) -> DisbursementIn:
        try:
            amount = parse_money(self.amount, self.currency)
        except MoneyError as exc:
            raise InputProblems(Problem("amount", str(exc).removeprefix("amount: "))) from None
        object.__setattr__(self, "amount", amount)
        return self


class CancellationIn(Model):
    pledge: Reference
    amount: PositiveAmount
    cancelled_on: IsoDate
    reason: Annotated[str, Field(min_length=1)]
    paragraph: OptionalParagraph = None
    unearmarked: bool = False

    @model_validator(mode="after")
    def _target(self) -> CancellationIn:
        if self.paragraph is not None and self.unearmarked:
            raise InputProblems(Problem("paragraph", "give a paragraph or unearmarked, not both"))
        return self


class InstalmentIn(Model):
    due_on: IsoDate
    amount: PositiveAmount  # in the pledge's currency


class ScheduleIn(Model):
    """A pledge's whole schedule, re-planned with the donor (docs/rules.md#instalments)."""

    pledge: Reference
    instalments: Annotated[list[InstalmentIn], Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1)]


def _earmark(value: object) -> object:
    """An allocation named as a paragraph number or "unearmarked" (None)."""
    if isinstance(value, str) and value.strip().lower() == "unearmarked":
        return None
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError('give a paragraph number or "unearmarked"')
    return whole_number(value)


# dumped as given ("unearmarked" for None), so a dumped reallocation validates again (a correction's content)
Earmark = Annotated[int | None, Field(ge=1, le=999), BeforeValidator(_earmark),
                    PlainSerializer(lambda value: "unearmarked" if value is None else value)]


class ReallocationIn(Model):
    """Move ``amount`` (pledge currency) of what is still to be received from one allocation of a
    pledge to another, with the donor's consent (docs/rules.md#reallocations)."""

    pledge: Reference
    source: Earmark  # paragraph number, None: unearmarked
    target: Earmark
    amount: PositiveAmount
    reallocated_on: IsoDate
    consent: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _two(self) -> ReallocationIn:
        if self.source == self.target:
            raise InputProblems(Problem("target", f"the money is already in the {paragraph_label(self.source)} "
                                        "allocation: name another one to move it to"))
        return self


class RefundIn(Model):
    """Unspent cash paid back to the donor (docs/rules.md#refunds): ``amount`` in the pledge's
    currency, ``usd_amount`` the USD actually paid (else converted at the refund date's rate)."""

    pledge: Reference
    amount: PositiveAmount
    usd_amount: OptionalAmount = None
    refunded_on: IsoDate
    reason: Annotated[str, Field(min_length=1)]
    paragraph: OptionalParagraph = None
    unearmarked: bool = False

    _usd = field_validator("usd_amount")(ReceiptIn._usd.__func__)

    @model_validator(mode="after")
    def _target(self) -> RefundIn:
        if self.paragraph is not None and self.unearmarked:
            raise InputProblems(Problem("paragraph", "give a paragraph or unearmarked, not both"))
        return self


class PledgeCloseIn(Model):
    pledge: Reference
    closed_on: IsoDate


class SigningIn(Model):
    """An announced pledge signed on a date (docs/rules.md#pledge-stages)."""

    pledge: Reference
    signed_on: IsoDate
    agreement: Annotated[str, BeforeValidator(lambda v: v or "")] = ""


class WithdrawalIn(Model):
    """An announced pledge withdrawn on a date, with the reason."""

    pledge: Reference
    withdrawn_on: IsoDate
    reason: Annotated[str, Field(min_length=1)]


class ReversalIn(Model):
    entry_id: Annotated[int, Field(ge=1)]
    reason: Annotated[str, Field(min_length=1)]
    reversed_on: OptionalDate = None


class UserIn(Model):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+$")]
    role: Role


class SettingIn(Model):
    """A new version of a ledger setting (the TUI's form; what each name accepts: ledger/settings.py)."""

    name: Annotated[str, Field(min_length=1)]
    value: str = ""
    reason: str = ""
