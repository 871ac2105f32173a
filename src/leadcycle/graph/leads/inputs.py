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


@strawberry.input(description="The company of a new lead.")
class CompanyInput:
    name: str = strawberry.field(description="Company name, 1 to 200 characters.")
    department: str | None = strawberry.field(default=strawberry.UNSET, description="Department.")
    employee_count: int | None = strawberry.field(default=strawberry.UNSET, description="Employees, >= 0.")
    capital: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="Paid-in capital in JPY, >= 0; a string or a number."
    )
    industry: str | None = strawberry.field(default=strawberry.UNSET, description="Industry.")

    def to_domain(self) -> model.Company:
        return model.Company(**present(self))


@strawberry.input(description="The contact of a new lead.")
class ContactInput:
    name: str = strawberry.field(description="The person's name, 1 to 200 characters.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="Email, name@example.com.")
    phone: str | None = strawberry.field(
        default=strawberry.UNSET, description="6 to 20 digits with spaces, +, -, ( and )."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Job title.")
    is_decision_maker: bool | None = strawberry.field(
        default=False, description="Whether this person decides on the purchase; null means false."
    )

    def to_domain(self) -> model.Contact:
        return model.Contact(**present(self))


@strawberry.input(
    description="Patch of a lead's company: omitted fields stay, explicit null clears (name cannot be cleared)."
)
class CompanyPatch:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name (cannot be cleared).")
    department: str | None = strawberry.field(default=strawberry.UNSET, description="New department, or null to clear.")
    employee_count: int | None = strawberry.field(
        default=strawberry.UNSET, description="New employee count, or null to clear."
    )
    capital: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="New capital in JPY, or null to clear."
    )
    industry: str | None = strawberry.field(default=strawberry.UNSET, description="New industry, or null to clear.")


@strawberry.input(
    description="Patch of a lead's contact: omitted fields stay, explicit null clears (name cannot be cleared)."
)
class ContactPatch:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name (cannot be cleared).")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="New email, or null to clear.")
    phone: str | None = strawberry.field(default=strawberry.UNSET, description="New phone, or null to clear.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="New title, or null to clear.")
    is_decision_maker: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether this person decides; null means false."
    )


@strawberry.input(description="One BANT criterion.")
class BantCriterionInput:
    status: BantStatus = strawberry.field(description="Confirmed, not met, or unknown.")
    note: str | None = strawberry.field(
        default=strawberry.UNSET, description="What sales learned, up to 2,000 characters."
    )

    def to_domain(self) -> model.BantCriterion:
        return model.BantCriterion(**present(self))
