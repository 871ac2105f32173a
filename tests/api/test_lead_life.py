"""The full life of leads over HTTP, as a client application drives it."""

from tests.api.operations import FEEDBACK, LEAD_QUERY, UPDATE_BANT, create_lead, record, transition
from tests.conftest import GraphQLClient

CONFIRMED = {"status": "CONFIRMED"}


class TestLifeOfAWonLead:
    async def test_heats_up_by_itself_then_sales_qualifies_and_wins(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql, source=" Web_Ad ")
        assert (lead["stage"], lead["score"], lead["source"]) == ("COLD", 0, "web_ad")

        for _ in range(4):
            lead = (await record(gql, lead["id"], "webinar_attended"))["lead"]
        assert (lead["stage"], lead["temperature"], lead["score"]) == ("WARM", "WARM", 40)

        lead = (await record(gql, lead["id"], "pricing_page_view"))["lead"]
        lead = (await record(gql, lead["id"], "pricing_page_view"))["lead"]
        assert (lead["stage"], lead["temperature"], lead["score"]) == ("MQL", "HOT", 50)
        assert {c["rule"]: c["reason"] for c in lead["scoreBreakdown"]} == {
            "activity.webinar_attended": "4 x webinar_attended at +10",
            "activity.pricing_page_view": "2 x pricing_page_view at +5",
        }

        refused = await transition(gql, lead["id"], "QUALIFY")
        assert refused["__typename"] == "TransitionRejected"
        assert [g["guard"] for g in refused["failedGuards"]] == [
            "bant.budget",
            "bant.authority",
            "bant.need",
            "bant.timeframe",
        ]

        bant = {
            "leadId": lead["id"],
            "budget": CONFIRMED,
            "authority": CONFIRMED,
            "need": CONFIRMED,
            "timeframe": CONFIRMED,
            "expectedVersion": lead["version"],
        }
        lead = (await gql.data(UPDATE_BANT, input=bant))["updateBant"]["lead"]
        assert lead["bant"]["satisfied"] is True

        for event, stage in (("QUALIFY", "SQL"), ("OPEN_OPPORTUNITY", "OPPORTUNITY"), ("WIN", "WON")):
            lead = (await transition(gql, lead["id"], event, expectedVersion=lead["version"]))["lead"]
            assert lead["stage"] == stage

        history = (await gql.data(LEAD_QUERY, id=lead["id"]))["lead"]["timeline"]
        transitions = [e["summary"] for e in reversed(history) if e["kind"] == "transition"]
        assert transitions == [
            "COLD -> WARM (WARM)",
            "WARM -> MQL (MARK_HOT)",
            "MQL -> SQL (QUALIFY)",
            "SQL -> OPPORTUNITY (OPEN_OPPORTUNITY)",
            "OPPORTUNITY -> WON (WIN)",
        ]
        automatic = [e for e in history if e["kind"] == "transition" and e["actor"] == "system"]
        assert {e["data"]["rule"] for e in automatic} == {"score.warm_threshold", "score.hot_threshold"}


class TestLifeOfALostLead:
    async def test_lost_then_recycled_heats_up_again(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql, source="exhibition")
        lead = (await record(gql, lead["id"], "demo_request"))["lead"]
        assert (lead["stage"], lead["temperature"], lead["score"]) == ("MQL", "HOT", 20)
        confirmed = {c: CONFIRMED for c in ("budget", "authority", "need", "timeframe")}
        await gql.data(UPDATE_BANT, input={"leadId": lead["id"], **confirmed})
        await transition(gql, lead["id"], "QUALIFY")
        await transition(gql, lead["id"], "OPEN_OPPORTUNITY")

        refused = await transition(gql, lead["id"], "LOSE")
        assert refused["__typename"] == "TransitionRejected"
        assert [g["guard"] for g in refused["failedGuards"]] == ["loss_reason.required"]

        lost = (await transition(gql, lead["id"], "LOSE", lossReason="COMPETITOR"))["lead"]
        assert (lost["stage"], lost["lossReason"]) == ("LOST", "COMPETITOR")

        recycled = (await transition(gql, lead["id"], "RECYCLE", reason="Revisit after their fiscal year"))["lead"]
        assert (recycled["stage"], recycled["score"], recycled["temperature"]) == ("RECYCLED", 0, "COLD")

        lead = (await record(gql, lead["id"], "inquiry"))["lead"]
        lead = (await record(gql, lead["id"], "webinar_attended"))["lead"]
        assert (lead["stage"], lead["score"]) == ("WARM", 25)
        lead = (await record(gql, lead["id"], "trial_signup"))["lead"]
        assert (lead["stage"], lead["temperature"], lead["score"]) == ("MQL", "HOT", 45)


class TestSalesFeedback:
    async def test_rejected_mql_goes_back_to_nurturing(self, gql: GraphQLClient) -> None:
        lead = await create_lead(gql)
        lead = (await record(gql, lead["id"], "consultation_request"))["lead"]
        result = (
            await gql.data(
                FEEDBACK, input={"leadId": lead["id"], "verdict": "REJECTED", "reason": "Student, not a buyer"}
            )
        )["recordSalesFeedback"]
        assert result["lead"]["stage"] == "RECYCLED"
