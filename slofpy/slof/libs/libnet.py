"""libnet: SLOF's network boot (lib/libnet's netload) in Python, as far as a boot gets on a
network where nobody answers; net-ping is not carried out.

net-load ( load-addr max-len args-addr args-len -- size | error ) is called by the obp-tftp
package's load method, with the NIC's instance as its parent. What it does, in the C's
order, with its messages:

* a 1720-byte packet buffer from alloc-mem; "Initializing NIC";
* the socket: the parent's `read` and `write` methods and the last 6 bytes of its
  `local-mac-address` (up to 10 tries a second apart while there is no free descriptor);
  "Reading MAC address from device: ...";
* with no arguments, DHCP, up to 10 rounds, the round count down printed in place
  ("\\b\\b\\b%03d"); ESC at the console aborts. A round is a DHCPv4 DISCOVER (broadcast from
  0.0.0.0, UDP 68 to 67, asking for subnet mask, router, DNS, TFTP server and boot file)
  answered within 2 s, then a link-local IPv6 address with an ICMPv6 router solicitation to
  ff02::2 answered within 4 s, then a DHCPv6 information request to ff02::1:2 (UDP 546 to
  547) answered within 2 s;
* after 10 silent rounds "Giving up after 10 DHCP requests", the boot message
  "E3001 (net) Could not get IP address", the packet buffer freed, and -101.

Frames go out through the NIC's `write` method and are waited for through its `read`
method, as the C's send() and recv() do. The frames are slofpy's encoding of the requests the
C makes: byte for byte what real SLOF sent under QEMU (tests/data/slof-boot/pci-misc.net.pcap)
but for the transaction ids (slofpy's own generator) and the checksums over them, and the
router solicitation's checksum, which real SLOF leaves 0 in some rounds. A frame addressed to us that does come in
would need libnet's ARP, IPv4, IPv6 and DHCP handling, which slofpy does not carry out: it
throws "not supported by slofpy: libnet receiving a frame". So do boot arguments (obp-tftp's
"net:server,file,client..." forms): "not supported by slofpy: net-load arguments".

Time: each poll of the NIC in a wait that comes back empty is charged 20 ms of simulated
time (on top of the timebase reads), so the 80 s real SLOF waits for DHCP cost about four
thousand polls, not a million.
"""
from __future__ import annotations

from ...errors import Throw
from ...vm.dictionary import find
from ...vm.outer import evaluate_text
from ...vm.words.paflof import TIMEBASE_HZ
from .base import CLibrary, c_word

MAX_PKT_SIZE = 1720
ETH_MTU_SIZE = 1518
DEFAULT_BOOT_RETRIES = 10
FIRST_FD = 3
POLL_CHARGE_MS = 20
BROADCAST = b"\xff" * 6


def _checksum(data: bytes) -> int:
    """The Internet checksum (one's complement of the one's complement sum)."""
    if len(data) & 1:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(payload: bytes, protocol: int, source: bytes, destination: bytes) -> bytes:
    """An IPv4 packet as libnet sends one: TOS 0x10 (low delay), TTL 255, no fragments."""
    header = bytearray(bytes([0x45, 0x10]) + (20 + len(payload)).to_bytes(2, "big")
                       + bytes(4) + bytes([255, protocol]) + bytes(2) + source + destination)
    header[10:12] = _checksum(bytes(header)).to_bytes(2, "big")
    return bytes(header) + payload


def _ipv6(payload: bytes, next_header: int, source: bytes, destination: bytes) -> bytes:
    return (bytes([0x60, 0, 0, 0]) + len(payload).to_bytes(2, "big")
            + bytes([next_header, 255]) + source + destination + payload)


def _ipv6_checksum(payload: bytes, next_header: int, source: bytes, destination: bytes) -> int:
    pseudo = source + destination + len(payload).to_bytes(4, "big") + bytes([0, 0, 0,
                                                                             next_header])
    return _checksum(pseudo + payload)


def _udp(source_port: int, destination_port: int, data: bytes) -> bytes:
    return (source_port.to_bytes(2, "big") + destination_port.to_bytes(2, "big")
            + (8 + len(data)).to_bytes(2, "big") + bytes(2) + data)


def link_local(mac: bytes) -> bytes:
    """fe80::/64 with the MAC's EUI-64 as interface id, as libnet makes it (the MAC's
    universal/local bit is not flipped)."""
    eui = mac[0:3] + b"\xff\xfe" + mac[3:6]
    return bytes.fromhex("fe80") + bytes(6) + eui


def multicast_mac(address: bytes) -> bytes:
    return b"\x33\x33" + address[12:16]


def dhcp_discover(mac: bytes, xid: int) -> bytes:
    """An Ethernet frame with a DHCPDISCOVER from 0.0.0.0 to the broadcast address."""
    bootp = bytearray(236)
    bootp[0:4] = bytes([1, 1, 6, 0])
    bootp[4:8] = xid.to_bytes(4, "big")
    bootp[28:34] = mac
    # message type DISCOVER; parameters: mask, router, DNS, TFTP server, boot file, arch
    options = bytes([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 55, 6, 1, 3, 6, 66, 67, 93, 255])
    options = options.ljust(64, b"\0")             # the BOOTP header's 64-byte vend field
    source, destination = bytes(4), b"\xff" * 4
    udp = bytearray(_udp(68, 67, bytes(bootp) + options))
    pseudo = source + destination + bytes([0, 17]) + len(udp).to_bytes(2, "big")
    udp[6:8] = _checksum(pseudo + bytes(udp)).to_bytes(2, "big")
    ip = _ipv4(bytes(udp), 17, source, destination)
    return BROADCAST + mac + b"\x08\x00" + ip


def router_solicitation(mac: bytes) -> bytes:
    source, destination = link_local(mac), bytes.fromhex("ff02" + "00" * 13 + "02")
    body = bytearray(bytes([133, 0, 0, 0]) + bytes(4) + bytes([1, 1]) + mac)
    body[2:4] = _ipv6_checksum(bytes(body), 58, source, destination).to_bytes(2, "big")
    return multicast_mac(destination) + mac + b"\x86\xdd" + _ipv6(bytes(body), 58, source,
                                                                  destination)


def dhcpv6_information_request(mac: bytes, xid: int) -> bytes:
    source = link_local(mac)
    destination = bytes.fromhex("ff02" + "00" * 11 + "010002")
    message = (bytes([11]) + (xid & 0xFFFFFF).to_bytes(3, "big")
               + (1).to_bytes(2, "big") + (10).to_bytes(2, "big")        # client id: DUID-LL
               + (3).to_bytes(2, "big") + (1).to_bytes(2, "big") + mac
               + (8).to_bytes(2, "big") + (2).to_bytes(2, "big") + (400).to_bytes(2, "big")
               + (6).to_bytes(2, "big") + (6).to_bytes(2, "big")         # requested options
               + b"".join(o.to_bytes(2, "big") for o in (23, 24, 59)))
    udp = bytearray(_udp(546, 547, message))
    # RFC 768: a computed checksum of 0 goes out as all ones
    udp[6:8] = (_ipv6_checksum(bytes(udp), 17, source, destination) or 0xFFFF).to_bytes(2, "big")
    return multicast_mac(destination) + mac + b"\x86\xdd" + _ipv6(bytes(udp), 17, source,
                                                                  destination)


class LibNet(CLibrary):
    UNSUPPORTED = ("net-ping",)

    def __init__(self, slof):
        super().__init__(slof)
        self.sockets: dict[int, tuple[int, int]] = {}     # fd -> (read xt, write xt)
        self.ether_packet = 0           # the C's static receive buffer, in guest memory
        self.dest_timer = 0
        self.rand_state = 0

    # ------------------------------------------------------------ what the C calls
    def forth(self, name: str, *args: int, results: int = 1) -> list[int]:
        """forth_eval of one word: args pushed, `results` cells popped (deepest first)."""
        self.push(*args)
        hit = find(self.vm, name.encode())
        if hit is None:
            raise Throw(-13, word=name)
        self.vm.execute(hit[0])
        return self.pop(results) if results else []

    def msecs(self) -> int:
        return self.forth("get-msecs")[0] & 0xFFFFFFFF

    def set_timer(self, ms: int) -> None:
        self.dest_timer = (self.msecs() + ms) & 0xFFFFFFFF

    def get_timer(self) -> int:
        left = (self.dest_timer - self.msecs()) & 0xFFFFFFFF
        return left - (1 << 32) if left >> 31 else left

    def escape_pressed(self) -> bool:
        """getchar() == 27: one key from the console, if there is one."""
        if not self.forth("key?")[0]:
            return False
        return self.forth("key")[0] == 27

    def rand(self) -> int:
        self.rand_state = (self.rand_state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.rand_state >> 16

    # ------------------------------------------------------------ sockets (slof/ppc64.c)
    def socket(self) -> tuple[int, bytes]:
        """(fd, MAC) of the NIC instance that is the current package's parent; fd -1 when
        it has no read or write method or MAC, -2 when every descriptor is taken."""
        fd = next((fd for fd in range(FIRST_FD, 32) if fd not in self.sockets), None)
        if fd is None:
            self.print(b"Can not open socket, file descriptor list is full\n")
            return -2, b""
        phandle = self.forth("my-parent")[0]
        if phandle:
            phandle = self.forth("ihandle>phandle", phandle)[0]
        if not phandle:
            self.print(b"Can not open socket, no parent instance\n")
            return -1, b""
        methods = []
        for name in ("read", "write"):
            self.push(phandle)
            evaluate_text(self.vm, b's" ' + name.encode() + b'" rot find-method')
            if not self.pop()[0]:
                self.print(b"Can not open socket, no '%s' method\n" % name.encode())
                return -1, b""
            methods.append(self.pop()[0])
        self.push(phandle)
        evaluate_text(self.vm, b's" local-mac-address" rot get-property')
        if self.pop()[0]:
            return -1, b""
        addr, length = self.pop(2)
        if length < 6 or addr + length > len(self.vm.mem):
            raise Throw(-9)
        self.sockets[fd] = (methods[0], methods[1])
        return fd, bytes(self.vm.mem[addr + length - 6:addr + length])

    def call_method(self, xt: int, addr: int, length: int) -> int:
        self.push(addr, length)
        self.vm.execute(xt)
        value, = self.pop()
        return value - (1 << 64) if value >> 63 else value

    def send(self, fd: int, frame: bytes) -> int:
        if not self.ether_packet:
            self.ether_packet = self.forth("alloc-mem", ETH_MTU_SIZE)[0]
        self.vm.mem[self.ether_packet:self.ether_packet + len(frame)] = frame
        return self.call_method(self.sockets[fd][1], self.ether_packet, len(frame))

    def receive_ether(self, fd: int, mac: bytes) -> int:
        """One poll of the NIC: 0 when nothing came (charged POLL_CHARGE_MS of simulated
        time), -1 for a frame that is not for us."""
        if not self.ether_packet:
            self.ether_packet = self.forth("alloc-mem", ETH_MTU_SIZE)[0]
        buf = self.ether_packet
        self.vm.mem[buf:buf + ETH_MTU_SIZE] = bytes(ETH_MTU_SIZE)
        received = self.call_method(self.sockets[fd][0], buf, ETH_MTU_SIZE)
        if received == 0:
            if self.vm.simulated_ticks is not None:
                self.vm.simulated_ticks += TIMEBASE_HZ // 1000 * POLL_CHARGE_MS
            return 0
        if received < 14:
            return -1
        destination = bytes(self.vm.mem[buf:buf + 6])
        if destination not in (BROADCAST, mac) and not destination[0] & 1:
            return -1
        raise Throw(-21, "not supported by slofpy: libnet receiving a frame")

    def wait(self, fd: int, mac: bytes, seconds: int) -> None:
        """The C's `for (sec...) { set_timer(TICKS_SEC); do receive_ether while
        get_timer() > 0 }`, with nobody answering."""
        for _ in range(seconds):
            self.set_timer(1000)
            while True:
                self.receive_ether(fd, mac)
                if self.get_timer() <= 0:
                    break

    # ------------------------------------------------------------ netload (netload.c)
    def error(self, code: int, text: bytes) -> None:
        """netload_error: a boot error message, as bootmsg_error prints it."""
        self.print(b"\n\rE%04X " % code + b"(net) " + text + b"\n\r")

    def dhcp(self, fd: int, mac: bytes, retries: int) -> int:
        self.print(b"  Requesting information via DHCP:     ")
        xid4 = (self.rand() << 16) ^ self.rand()
        xid6 = self.rand()
        left = retries + 1
        while True:
            self.print(b"\b\b\b%03d" % (left - 1))
            if self.escape_pressed():
                self.print(b"\nAborted\n")
                return -1
            left -= 1
            if not left:
                self.print(b"\nGiving up after %d DHCP requests\n" % retries)
                return -1
            self.send(fd, dhcp_discover(mac, xid4))
            self.wait(fd, mac, 2)
            self.send(fd, router_solicitation(mac))
            self.wait(fd, mac, 4)
            self.send(fd, dhcpv6_information_request(mac, xid6))
            self.wait(fd, mac, 2)

    @c_word("net-load")
    def net_load(self) -> None:     # ( load-addr max-len args-addr args-len -- size | error )
        _load, _maxlen, _args, alen = self.pop(4)
        alen = alen - (1 << 64) if alen >> 63 else alen
        self.push(self.netload(alen))

    def netload(self, alen: int) -> int:
        pkt = self.forth("alloc-mem", MAX_PKT_SIZE)[0]
        if not pkt:
            self.print(b"ERROR: Unable to allocate memory\n")
            return -1
        self.vm.mem[pkt:pkt + MAX_PKT_SIZE] = bytes(MAX_PKT_SIZE)
        self.print(b"\n Initializing NIC\n")
        fd, mac = -2, b""
        for tries in range(DEFAULT_BOOT_RETRIES):
            if tries:
                self.set_timer(1000)
                while self.get_timer() > 0:
                    pass
            fd, mac = self.socket()
            if fd != -2:
                break
            if self.escape_pressed():
                fd = -2
                break
        rc = 0
        if fd == -1:
            self.error(0x3000, b"Could not read MAC address")
            rc = -100
        elif fd == -2:
            self.error(0x3006, b"Could not initialize network device")
            rc = -101
        else:
            self.print(b"  Reading MAC address from device: "
                       + b":".join(b"%02x" % b for b in mac) + b"\n")
            self.rand_state = int.from_bytes(mac[2:], "big") ^ self.msecs()
            if alen > 0:
                raise Throw(-21, "not supported by slofpy: net-load arguments")
            if self.dhcp(fd, mac, DEFAULT_BOOT_RETRIES) == -1:
                self.error(0x3001, b"Could not get IP address")
                del self.sockets[fd]
                rc = -101
        self.forth("free-mem", pkt, MAX_PKT_SIZE, results=0)
        return rc


LIBRARY = LibNet
