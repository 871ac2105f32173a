"""The lead mutations, one module each."""

import strawberry

from leadcycle.graph.leads.mutations.assign_lead import assign_lead
from leadcycle.graph.leads.mutations.create_lead import create_lead
from leadcycle.graph.leads.mutations.record_activities import record_activities
from leadcycle.graph.leads.mutations.record_activity import record_activity
from leadcycle.graph.leads.mutations.record_sales_feedback import record_sales_feedback
from leadcycle.graph.leads.mutations.transition_lead import transition_lead
from leadcycle.graph.leads.mutations.update_bant import update_bant
from leadcycle.graph.leads.mutations.update_lead import update_lead


@strawberry.type
class LeadMutations:
    create_lead = strawberry.mutation(
        resolver=create_lead, description="Create a lead; it starts COLD and may end this call WARM or MQL."
    )
    update_lead = strawberry.mutation(resolver=update_lead, description="Patch the lead's company and contact.")
    assign_lead = strawberry.mutation(resolver=assign_lead, description="Set or clear the owning team and owner.")
    record_activity = strawberry.mutation(
        resolver=record_activity, description="Record a behaviour; the score and automatic progress follow."
    )
    record_activities = strawberry.mutation(
        resolver=record_activities,
        description="Record up to 1,000 behaviours of any leads in one call, each as recordActivity would; "
        "one result per input, in input order. An invalid input gets its Problem; the others are still recorded.",
    )
    update_bant = strawberry.mutation(resolver=update_bant, description="Patch what sales knows of BANT.")
    transition_lead = strawberry.mutation(
        resolver=transition_lead, description="Fire a lifecycle event; refused with every failing guard named."
    )
    record_sales_feedback = strawberry.mutation(
        resolver=record_sales_feedback,
        description="Sales' verdict on an MQL: ACCEPTED, or REJECTED with a reason (back to RECYCLED).",
    )
