"""The Ethernet frames SLOF's libnet sends while it looks for a DHCP server, byte for byte as
real SLOF sends them (tests/data/vio/net-frames.txt holds the ones real SLOF sent on QEMU's
spapr-vlan): a DHCPDISCOVER (IPv4 broadcast), an ICMPv6 router solicitation to all routers
and a DHCPv6 INFORMATION-REQUEST to all DHCP servers, both from the link-local address
libnet makes of the MAC (fe80:: followed by the MAC with ff:fe in its middle; the
universal/local bit is left as it is). The router solicitation's checksum keeps a quirk
of libnet's (see `router_solicitation`).
"""
from __future__ import annotations

import struct

BROADCAST_MAC = b"\xff" * 6
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
BOOTPC, BOOTPS = 68, 67
DHCPV6_CLIENT, DHCPV6_SERVER = 546, 547
DHCP_MAGIC = b"\x63\x82\x53\x63"
DHCPDISCOVER = 1
DHCP_MSG_TYPE, DHCP_REQUEST_LIST = 53, 55
REQUESTED = (1, 3, 6, 66, 67, 93)   # mask, router, DNS, TFTP server, boot file, arch
BOOTP_BYTES = 300                   # the BOOTP header and its 64 option bytes
ALL_ROUTERS = bytes.fromhex("ff020000000000000000000000000002")
ALL_DHCP_SERVERS = bytes.fromhex("ff020000000000000000000000010002")
ROUTER_SOLICITATION = 133
DHCPV6_INFORMATION_REQUEST = 11
ELAPSED_TIME = 0x190                # 4000 ms, as libnet always says
ORO = (23, 24, 59)                  # DNS servers, domain list, boot file URL


def checksum(data: bytes) -> int:
    """The Internet checksum (ones' complement of the ones' complement sum of 16-bit words)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def _transport_checksum(pseudo: bytes, segment: bytes) -> int:
    value = checksum(pseudo + segment)
    return value or 0xFFFF


def link_local(mac: bytes) -> bytes:
    """The IPv6 link-local address libnet gives itself."""
    return bytes.fromhex("fe80000000000000") + mac[:3] + b"\xff\xfe" + mac[3:]


def dhcp_discover(mac: bytes, xid: int) -> bytes:
    """DHCPDISCOVER from 0.0.0.0:68 to 255.255.255.255:67 (TOS 0x10, TTL 255)."""
    options = (DHCP_MAGIC + bytes([DHCP_MSG_TYPE, 1, DHCPDISCOVER, DHCP_REQUEST_LIST,
                                   len(REQUESTED), *REQUESTED, 0xFF]))
    bootp = (struct.pack(">BBBBIHH", 1, 1, 6, 0, xid & 0xFFFFFFFF, 0, 0) + bytes(16)
             + mac + bytes(10 + 64 + 128) + options)
    bootp = bootp.ljust(BOOTP_BYTES, b"\0")
    source, destination = bytes(4), b"\xff" * 4
    udp_length = 8 + len(bootp)
    udp = struct.pack(">HHHH", BOOTPC, BOOTPS, udp_length, 0) + bootp
    pseudo = source + destination + struct.pack(">BBH", 0, IPPROTO_UDP, udp_length)
    udp = udp[:6] + struct.pack(">H", _transport_checksum(pseudo, udp)) + udp[8:]
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0x10, 20 + len(udp), 0, 0, 0xFF,
                         IPPROTO_UDP, 0, source, destination)
    header = header[:10] + struct.pack(">H", checksum(header)) + header[12:]
    return BROADCAST_MAC + mac + struct.pack(">H", ETHERTYPE_IPV4) + header + udp


def _ipv6_frame(mac: bytes, destination: bytes, next_header: int, payload: bytes) -> bytes:
    source = link_local(mac)
    header = struct.pack(">IHBB16s16s", 6 << 28, len(payload), next_header, 0xFF, source,
                         destination)
    return b"\x33\x33" + destination[12:] + mac + struct.pack(">H", ETHERTYPE_IPV6) \
        + header + payload


def _ipv6_pseudo(mac: bytes, destination: bytes, length: int, next_header: int) -> bytes:
    return link_local(mac) + destination + struct.pack(">IxxxB", length, next_header)


def router_solicitation(mac: bytes, stale_checksum: int = 0) -> bytes:
    """ICMPv6 router solicitation to ff02::2 with the source link-layer address option.

    libnet builds it in a buffer it does not clear and computes the checksum over the
    checksum field as it finds it there: `stale_checksum` is what the buffer held (0 for
    a fresh one; the previous solicitation's checksum gives 0). No 0 -> 0xffff rule."""
    body = (struct.pack(">BBHI", ROUTER_SOLICITATION, 0, stale_checksum & 0xFFFF, 0)
            + bytes([1, 1]) + mac)
    value = checksum(_ipv6_pseudo(mac, ALL_ROUTERS, len(body), IPPROTO_ICMPV6) + body)
    body = body[:2] + struct.pack(">H", value) + body[4:]
    return _ipv6_frame(mac, ALL_ROUTERS, IPPROTO_ICMPV6, body)


def dhcpv6_information_request(mac: bytes, tid: bytes) -> bytes:
    """DHCPv6 INFORMATION-REQUEST to ff02::1:2 (client id DUID-LL, elapsed time, ORO)."""
    message = (bytes([DHCPV6_INFORMATION_REQUEST]) + tid[:3]
               + struct.pack(">HHHH", 1, 10, 3, 1) + mac
               + struct.pack(">HHH", 8, 2, ELAPSED_TIME)
               + struct.pack(">HH", 6, 2 * len(ORO)) + b"".join(struct.pack(">H", o) for o in ORO))
    length = 8 + len(message)
    udp = struct.pack(">HHHH", DHCPV6_CLIENT, DHCPV6_SERVER, length, 0) + message
    value = _transport_checksum(_ipv6_pseudo(mac, ALL_DHCP_SERVERS, length, IPPROTO_UDP), udp)
    udp = udp[:6] + struct.pack(">H", value) + udp[8:]
    return _ipv6_frame(mac, ALL_DHCP_SERVERS, IPPROTO_UDP, udp)
