"""Webhooks without I/O: filters, registration checks, signatures, payloads and the retry schedule."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from leadcycle.domain.errors import InvalidInput
from leadcycle.domain.model import Company, Contact, Lead
from leadcycle.domain.stages import ChangeKind, Stage
from leadcycle.domain.webhooks import RetryPolicy, WebhookChange, WebhookFilter, new_endpoint, payload, sign, signatures

SECRET = "s3cret-of-sixteen+"


class TestFilter:
    def test_empty_filter_wants_every_change(self) -> None:
        wanted = WebhookFilter()

        assert all(wanted.matches(kind, stage) for kind in ChangeKind for stage in Stage)

    def test_kinds_and_stages_must_both_match(self) -> None:
        wanted = WebhookFilter(frozenset({ChangeKind.TRANSITION}), frozenset({Stage.MQL, Stage.WON}))

        assert wanted.matches(ChangeKind.TRANSITION, Stage.MQL)
        assert not wanted.matches(ChangeKind.ACTIVITY, Stage.MQL)
        assert not wanted.matches(ChangeKind.TRANSITION, Stage.SQL)

    def test_stages_alone_take_any_kind(self) -> None:
        wanted = WebhookFilter(stages=frozenset({Stage.WON}))

        assert wanted.matches(ChangeKind.FEEDBACK, Stage.WON)
        assert not wanted.matches(ChangeKind.FEEDBACK, Stage.LOST)


class TestNewEndpoint:
    def test_keeps_a_valid_registration(self) -> None:
        endpoint = new_endpoint(" https://crm.example.com/hooks?x=1 ", [ChangeKind.CREATED], [Stage.MQL], SECRET)

        assert endpoint.url == "https://crm.example.com/hooks?x=1"
        assert endpoint.filter == WebhookFilter(frozenset({ChangeKind.CREATED}), frozenset({Stage.MQL}))

    @pytest.mark.parametrize(
        "url", ["ftp://example.com/hook", "/relative/hook", "example.com/hook", "https://", "http://h/#part"]
    )
    def test_refuses_a_url_it_cannot_post_to(self, url: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            new_endpoint(url, [], [], SECRET)

        assert refused.value.field == "url"

    def test_refuses_an_overlong_url(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            new_endpoint("https://example.com/" + "a" * 2000, [], [], SECRET)

        assert refused.value.field == "url"

    @pytest.mark.parametrize("secret", ["short", "x" * 257])
    def test_refuses_a_secret_too_short_or_too_long(self, secret: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            new_endpoint("https://example.com/hook", [], [], secret)

        assert refused.value.field == "secret"


class TestSignature:
    def test_is_the_hex_hmac_sha256_of_the_raw_body(self) -> None:
        body = b'{"kind":"created"}'

        signature = sign(SECRET, body)

        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert signature == f"sha256={expected}"

    def test_changes_with_the_secret_and_with_the_body(self) -> None:
        assert sign(SECRET, b"a") != sign(SECRET + "x", b"a")
        assert sign(SECRET, b"a") != sign(SECRET, b"b")

    def test_during_a_rotation_lists_the_current_signature_first_then_the_previous(self) -> None:
        previous = "the-previous-secret"

        header = signatures([SECRET, previous], b"a")

        assert header == f"{sign(SECRET, b'a')}, {sign(previous, b'a')}"
        assert signatures([SECRET], b"a") == sign(SECRET, b"a")


class TestPayload:
    def test_carries_the_delivery_id_the_change_and_the_lead_as_of_it(self) -> None:
        lead = Lead(
            id=UUID(int=7),
            company=Company("さくら商事"),
            contact=Contact("佐藤"),
            source="seo",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            stage=Stage.MQL,
            version=3,
            score=80,
        )
        change = WebhookChange("cur", ChangeKind.TRANSITION, Stage.WARM, Stage.MQL, lead.created_at, "ann", lead)
        delivery_id = uuid4()

        document = json.loads(payload(delivery_id, change))

        assert document["deliveryId"] == str(delivery_id)
        assert (document["kind"], document["fromStage"], document["toStage"]) == ("transition", "WARM", "MQL")
        assert (document["cursor"], document["actor"], document["at"]) == ("cur", "ann", "2026-01-01T00:00:00+00:00")
        assert document["lead"]["id"] == str(UUID(int=7))
        assert (document["lead"]["version"], document["lead"]["stage"], document["lead"]["score"]) == (3, "MQL", 80)
        assert document["lead"]["companyName"] == "さくら商事"


class TestRetryPolicy:
    def test_doubles_from_the_base_without_jitter(self) -> None:
        policy = RetryPolicy(base_seconds=2.0, max_delay_seconds=900.0)

        assert [policy.delay(attempts, jitter=0.0) for attempts in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]

    def test_jitter_takes_off_at_most_half(self) -> None:
        policy = RetryPolicy(base_seconds=2.0)

        assert policy.delay(3, jitter=0.999) == pytest.approx(4.004)
        assert policy.delay(3, jitter=0.5) == 6.0

    def test_never_waits_longer_than_the_maximum(self) -> None:
        policy = RetryPolicy(base_seconds=2.0, max_delay_seconds=60.0)

        assert policy.delay(10, jitter=0.0) == 60.0
        assert policy.delay(10_000, jitter=0.0) == 60.0

    def test_gives_up_after_max_attempts(self) -> None:
        policy = RetryPolicy(max_attempts=3)

        assert [policy.gives_up(attempts) for attempts in (1, 2, 3)] == [False, False, True]
