"""Inputs shared by several lead mutations, and their translation to domain commands."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, TypeVar

import strawberry

from leadcycle.domain import model
from leadcycle.graph.leads.enums import BantStatus

T = TypeVar("T")


def given(value: T | None) -> T | None:
    """An optional input value, with "omitted" read as None."""
    return None if value is strawberry.UNSET else value


def present(patch: object) -> dict[str, Any]:
    """The fields a client sent, by domain name: omitted ones are absent, explicit nulls stay None."""
    values = {f.name: getattr(patch, f.name) for f in dataclasses.fields(patch)}  # type: ignore[arg-type]
    return {name: value for name, value in values.items() if value is not strawberry.UNSET}


@strawberry.input
class CompanyInput:
    name: str
    department: str | None = strawberry.UNSET
    employee_count: int | None = strawberry.UNSET
    capital: Decimal | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET

    def to_domain(self) -> model.Company:
        return model.Company(**present(self))


@strawberry.input
class ContactInput:
    name: str
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    is_decision_maker: bool | None = False

    def to_domain(self) -> model.Contact:
        return model.Contact(**present(self))


@strawberry.input(
    description="Patch of a lead's company: omitted fields stay, explicit null clears (name cannot be cleared)."
)
class CompanyPatch:
    name: str | None = strawberry.UNSET
    department: str | None = strawberry.UNSET
    employee_count: int | None = strawberry.UNSET
    capital: Decimal | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET


@strawberry.input(
    description="Patch of a lead's contact: omitted fields stay, explicit null clears (name cannot be cleared)."
)
class ContactPatch:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    is_decision_maker: bool | None = strawberry.UNSET


@strawberry.input
class BantCriterionInput:
    status: BantStatus
    note: str | None = strawberry.UNSET

    def to_domain(self) -> model.BantCriterion:
        return model.BantCriterion(**present(self))
