"""libnet: network boot (lib/libnet's netload.c and its DHCP client) in Python, as far as a
network without a DHCP server takes it; net-ping is not carried out (it says so).

net-load ( load-addr max-len args args-len -- rc ), called by the obp-tftp package's load
with the NIC as its parent instance, does what SLOF's netload does:

- a 1720-byte packet buffer from alloc-mem; " Initializing NIC";
- the "socket": the parent's phandle, its `read` and `write` methods (find-method) and the
  last 6 bytes of its local-mac-address (a missing method or property: SLOF's message and
  E3000 "Could not read MAC address"); "Reading MAC address from device: ...";
- the random generator seeded with the timebase and the MAC (SLOF's srand/rand), which
  gives the DHCPv4 transaction id and the three bytes of the DHCPv6 one;
- DHCP with ten retries: "Requesting information via DHCP:", then for each attempt its
  number counting down (backspaces, three digits), a DHCPDISCOVER and two one-second
  waits, an ICMPv6 router solicitation and up to four one-second waits for an answer, a
  DHCPv6 INFORMATION-REQUEST and two one-second waits (the solicitations' checksums
  alternate between right and 0 from the third on, as SLOF's reused, uncleared buffer
  makes them); ESC typed at the console aborts
  ("Aborted"); after the tenth "Giving up after 10 DHCP requests" and the error E3001
  "(net) Could not get IP address" (bootmsg-style, and into the NVRAM log with
  write-mm-log), rc -101.

Frames go out through the NIC's `write` (net_frames.py builds them, byte for byte as SLOF
does). While waiting, the NIC's `read` is polled; a frame that arrives is read and
dropped: slofpy's hosts have nothing on their wires, so no DHCP answer is ever parsed,
and the TFTP part of netload is never reached. SLOF polls as fast as it can; here the
simulated clock moves on 10 ms between two polls (the host cannot tell the difference).
Text goes out as SLOF's C write() sends it, through the Forth words `emit` and `cr`.
net-load with arguments (the obp-tftp boot string) throws "not supported by slofpy".
"""
from __future__ import annotations

from ...errors import Throw
from ...vm.words.paflof import TIMEBASE_HZ
from .base import CLibrary, c_word
from . import net_frames

MAX_PKT_SIZE = 1720
ETH_MTU_SIZE = 1518
DEFAULT_BOOT_RETRIES = 10
TICKS_SEC = 1000
POLL_MS = 10
ESC = 27
V4_WAITS, RA_WAITS, V6_WAITS = 2, 4, 2
TEXT_BYTES = 256                    # strings handed to Forth words
SCRATCH_BYTES = 2 * ETH_MTU_SIZE + TEXT_BYTES
RAND_MAX = 0x7FFF


class LibNet(CLibrary):
    UNSUPPORTED = ("net-ping",)

    def __init__(self, slof):
        super().__init__(slof)
        self.rand_state = 1
        self.scratch = 0
        self.read_xt = self.write_xt = 0

    # ------------------------------------------------------------ what the C code calls
    @property
    def text_area(self) -> int:
        return self.scratch + 2 * ETH_MTU_SIZE

    def puts(self, text: bytes) -> None:
        self.write_stdout(text + b"\r\n")

    def cstring(self, text: bytes) -> tuple[int, int]:
        """A string for a Forth word, in the scratch area: (addr, len)."""
        self.fill(self.text_area, text)
        return self.text_area, len(text)

    def msecs(self) -> int:
        return self.forth("get-msecs")[0] & 0xFFFFFFFF

    def getchar(self) -> int:
        """A key typed at the console, or -1 (SLOF's `key? IF key ELSE 0 THEN`)."""
        (ready,) = self.forth("key?")
        if not ready:
            return -1
        return self.forth("key")[0] & 0xFF or -1

    def rand(self) -> int:
        self.rand_state = (self.rand_state * 1237732973 + 34563) & (1 << 64) - 1
        return (self.rand_state >> 16) & RAND_MAX

    # ------------------------------------------------------------ the NIC
    def socket(self) -> tuple[int, bytes]:
        """SLOF's socket(): 0 and the MAC, or -1 / -2 and nothing."""
        (phandle,) = self._parent_phandle()
        if not phandle:
            self.puts(b"Can not open socket, no parent instance")
            return -1, b""
        for name in (b"read", b"write"):
            found = self.forth("find-method", *self.cstring(name), phandle, results=1)
            xt = self.pop()[0] if found[0] else 0
            if not xt:
                self.puts(b"Can not open socket, no '" + name + b"' method")
                return -1, b""
            if name == b"read":
                self.read_xt = xt
            else:
                self.write_xt = xt
        (missing,) = self.forth("get-property", *self.cstring(b"local-mac-address"),
                                phandle)
        if missing:
            return -1, b""
        addr, length = self.pop(2)
        return 0, self.guest_bytes(addr + length - 6, 6)

    def _parent_phandle(self) -> list[int]:
        (parent,) = self.forth("my-parent")
        if not parent:
            return [0]
        return self.forth("ihandle>phandle", parent)

    def send(self, frame: bytes) -> int:
        self.fill(self.scratch, frame)
        self.push(self.scratch, len(frame), self.write_xt)
        self.vm.execute(self.pop()[0])
        return self.pop()[0]

    def receive(self) -> int:
        """receive_ether: one read of the NIC; a frame that came is dropped."""
        self.push(self.scratch + ETH_MTU_SIZE, ETH_MTU_SIZE, self.read_xt)
        self.vm.execute(self.pop()[0])
        return self.pop()[0]

    def wait_seconds(self, seconds: int) -> None:
        """`seconds` times: set_timer(1 s), then poll the NIC until get_timer() <= 0."""
        for _ in range(seconds):
            deadline = (self.msecs() + TICKS_SEC) & 0xFFFFFFFF
            while True:
                self.receive()
                left = (deadline - self.msecs()) & 0xFFFFFFFF
                if left == 0 or left >> 31:
                    break
                self._spin(min(POLL_MS, left))

    def _spin(self, ms: int) -> None:
        """The processor spinning on get-msecs for `ms` milliseconds."""
        if self.vm.simulated_ticks is not None:
            self.vm.simulated_ticks += ms * TIMEBASE_HZ // 1000
        else:
            until = (self.msecs() + ms) & 0xFFFFFFFF
            while ((until - self.msecs()) & 0xFFFFFFFF) - 1 < 0x7FFFFFFF:
                pass

    # ------------------------------------------------------------ DHCP
    def dhcp(self, mac: bytes, retries: int) -> int:
        self.write_stdout(b"  Requesting information via DHCP:     ")
        xid = ((self.rand() << 16) ^ self.rand()) & 0xFFFFFFFF
        tid = bytes(self.rand() & 0xFF for _ in range(3))
        attempt = retries + 1
        solicitations: list[int] = []
        while True:
            self.write_stdout(b"\b\b\b%03d" % (attempt - 1))
            if self.getchar() == ESC:
                self.write_stdout(b"\nAborted\n")
                return -1
            attempt -= 1
            if not attempt:
                self.write_stdout(b"\nGiving up after %d DHCP requests\n" % retries)
                return -1
            self.send(net_frames.dhcp_discover(mac, xid))
            self.wait_seconds(V4_WAITS)
            # the buffer of the third and later solicitations is the one before (see
            # net_frames.router_solicitation); the first two come fresh
            stale = solicitations[-1] if len(solicitations) >= 2 else 0
            frame = net_frames.router_solicitation(mac, stale)
            solicitations.append(int.from_bytes(frame[56:58], "big"))
            self.send(frame)
            self.wait_seconds(RA_WAITS)
            self.send(net_frames.dhcpv6_information_request(mac, tid))
            self.wait_seconds(V6_WAITS)

    def error(self, code: int, text: bytes, buffer: int) -> None:
        """netload_error: the bootmsg-style line, and the line into the NVRAM log."""
        self.print(b"\n\rE%04X " % code + b"(net) " + text + b"\n\r")
        line = b"E%04X: (net) " % code + text
        self.fill(buffer, line)
        self.forth("write-mm-log", buffer, len(line), 0x91)

    # ------------------------------------------------------------ the word
    @c_word("net-load")
    def net_load(self) -> None:            # ( load-addr max-len args args-len -- rc )
        _addr, _max, _args, args_length = self.pop(4)
        if args_length & 0xFFFFFFFF:
            raise Throw(-21, "not supported by slofpy: net-load with arguments")
        packet = self.forth("alloc-mem", MAX_PKT_SIZE)[0]
        if not packet:
            self.scratch = 0
            self.puts(b"ERROR: Unable to allocate memory")
            self.push(-1)
            return
        self.fill(packet, bytes(MAX_PKT_SIZE))
        self.scratch = self.forth("alloc-mem", SCRATCH_BYTES)[0]
        try:
            self.push(self._netload(packet))
        finally:
            self.forth("free-mem", self.scratch, SCRATCH_BYTES, results=0)
            self.forth("free-mem", packet, MAX_PKT_SIZE, results=0)

    def _netload(self, packet: int) -> int:
        self.puts(b"\n Initializing NIC")
        fd, mac = self.socket()
        if fd == -1:
            self.error(0x3000, b"Could not read MAC address", packet)
            return -100
        self.write_stdout(b"  Reading MAC address from device: %s\n"
                       % b":".join(b"%02x" % b for b in mac))
        seed = self.forth("tbl@")[0] & 0xFFFFFFFF
        self.rand_state = seed ^ int.from_bytes(mac[2:], "big")
        if self.dhcp(mac, DEFAULT_BOOT_RETRIES) == -1:
            self.error(0x3001, b"Could not get IP address", packet)
            return -101
        raise Throw(-21, "not supported by slofpy: net-load (a DHCP answer)")


LIBRARY = LibNet
