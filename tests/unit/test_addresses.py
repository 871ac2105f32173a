"""Which addresses webhooks may be posted to: the guard against server-side request forgery."""

from ipaddress import ip_address

import pytest

from leadcycle.domain.addresses import forbidden_kind, literal_address


class TestForbiddenKind:
    @pytest.mark.parametrize(
        ("address", "kind"),
        [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.254", "private"),
            ("192.168.1.10", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.251", "multicast"),
            ("::1", "loopback"),
            ("fc00::1", "private"),
            ("fd12:3456:789a::1", "private"),
            ("fe80::1", "link-local"),
            ("::", "unspecified"),
            ("ff02::1", "multicast"),
        ],
    )
    def test_refuses_addresses_only_the_server_can_reach(self, address: str, kind: str) -> None:
        assert forbidden_kind(ip_address(address)) == kind

    @pytest.mark.parametrize(
        ("address", "kind"),
        [("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local")],
    )
    def test_judges_an_ipv4_address_mapped_into_ipv6_as_the_ipv4_address(self, address: str, kind: str) -> None:
        assert forbidden_kind(ip_address(address)) == kind

    @pytest.mark.parametrize(
        "address", ["93.184.216.34", "172.32.0.1", "172.15.255.255", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]
    )
    def test_allows_public_addresses(self, address: str) -> None:
        assert forbidden_kind(ip_address(address)) is None


class TestLiteralAddress:
    def test_reads_an_ip_host_and_ignores_an_ipv6_zone(self) -> None:
        assert literal_address("10.0.0.1") == ip_address("10.0.0.1")
        assert literal_address("fe80::1%eth0") == ip_address("fe80::1")

    def test_a_host_name_is_not_a_literal_address(self) -> None:
        assert literal_address("crm.example.com") is None
