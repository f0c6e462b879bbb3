"""QEMU 7.2's usb-kbd (a USB HID boot keyboard, hw/usb/dev-hid.c) as a USB device model: what
it answers on its control endpoint and on its interrupt-in endpoint, with no key pressed.

A USB device model is reached by a host-controller model (slofpy.host.xhci) through three
calls: `reset()` (a port reset: address 0, not configured), `control(setup, data)` (one
control transfer: the 8-byte setup packet and, for a host-to-device request, its data;
the answer is the bytes of the data stage for a device-to-host request, b"" for the others,
or None for a STALL) and `interrupt_in(endpoint, length)` (None: NAK, nothing to report).

usb-kbd is QEMU's "usb_version=2" keyboard by default: a USB 2.0 device (bMaxPacketSize0
64) that runs at high speed on a port that has it. Its descriptors, as QEMU builds them:

* device: USB 2.0, class 0 (per interface), vendor 0x0627, product 0x0001, release 0,
  strings 1 (manufacturer), 2 (product), 3 (serial), one configuration (the texts of the
  strings are slofpy's: SLOF never asks for them);
* configuration 1 (total 34 bytes): one interface, string 7, self-powered off, remote
  wake-up on, 100 mA;
* interface 0: class 3 (HID), subclass 1 (boot interface), protocol 1 (keyboard), one
  endpoint;
* HID 1.11, country 0, one report descriptor of 63 bytes;
* endpoint 0x81: interrupt in, 8 bytes, interval 7 at high speed (10 at full speed).

Requests it answers: GET_STATUS, GET/SET_CONFIGURATION, SET_ADDRESS, GET_DESCRIPTOR
(device, configuration, string: the language list and the strings), GET_INTERFACE,
SET_INTERFACE 0, CLEAR/SET_FEATURE (remote wake-up), and the HID class requests GET_REPORT
(the 8-byte boot report), GET/SET_IDLE, GET/SET_PROTOCOL, SET_REPORT (the LEDs, one byte).
Anything else stalls. The report says no key is pressed: zero modifiers, zero key codes.
"""
from __future__ import annotations

SPEED_FULL, SPEED_HIGH = 1, 3          # the speed IDs an xHCI port shows (PORTSC bits 10-13)

VENDOR, PRODUCT = 0x0627, 0x0001
STRINGS = {1: "QEMU", 2: "QEMU USB Keyboard", 3: "68284", 7: "HID Keyboard"}
REPORT_DESCRIPTOR_LENGTH = 63
INTERRUPT_ENDPOINT = 0x81
REPORT_SIZE = 8

# bRequest codes (USB 2.0 chapter 9, HID 1.11 section 7.2)
GET_STATUS, CLEAR_FEATURE, SET_FEATURE, SET_ADDRESS = 0, 1, 3, 5
GET_DESCRIPTOR, GET_CONFIGURATION, SET_CONFIGURATION = 6, 8, 9
GET_INTERFACE, SET_INTERFACE = 10, 11
HID_GET_REPORT, HID_GET_IDLE, HID_GET_PROTOCOL = 1, 2, 3
HID_SET_REPORT, HID_SET_IDLE, HID_SET_PROTOCOL = 9, 10, 11
DT_DEVICE, DT_CONFIGURATION, DT_STRING = 1, 2, 3
FEATURE_REMOTE_WAKEUP = 1


def _device_descriptor() -> bytes:
    return bytes([18, DT_DEVICE, 0x00, 0x02, 0, 0, 0, 64,
                  VENDOR & 0xFF, VENDOR >> 8, PRODUCT & 0xFF, PRODUCT >> 8,
                  0, 0, 1, 2, 3, 1])


def _configuration_descriptor(speed: int) -> bytes:
    interval = 7 if speed == SPEED_HIGH else 10
    interface = bytes([9, 4, 0, 0, 1, 3, 1, 1, 0])
    hid = bytes([9, 0x21, 0x11, 0x01, 0, 1, 0x22, REPORT_DESCRIPTOR_LENGTH, 0])
    endpoint = bytes([7, 5, INTERRUPT_ENDPOINT, 3, REPORT_SIZE, 0, interval])
    total = 9 + len(interface) + len(hid) + len(endpoint)
    head = bytes([9, DT_CONFIGURATION, total & 0xFF, total >> 8, 1, 1, 7, 0xA0, 50])
    return head + interface + hid + endpoint


def _string_descriptor(index: int) -> bytes | None:
    if index == 0:
        return bytes([4, DT_STRING, 0x09, 0x04])           # US English only
    text = STRINGS.get(index)
    if text is None:
        return None
    body = text.encode("utf-16-le")
    return bytes([2 + len(body), DT_STRING]) + body


class UsbKeyboard:
    """One usb-kbd: its address, configuration, HID state, and no key pressed."""

    name = "usb-kbd"
    speeds = (SPEED_FULL, SPEED_HIGH)       # a USB 2.0 device: never on a USB 3 port

    def __init__(self) -> None:
        self.speed = SPEED_HIGH
        self.requests: list[tuple[int, int, int, int, int]] = []
        self.reset()

    def reset(self) -> None:
        """A port reset: default address, unconfigured, report protocol, no idle rate."""
        self.address = 0
        self.configuration = 0
        self.protocol = 1
        self.idle = 0
        self.leds = 0
        self.remote_wakeup = False

    def report(self) -> bytes:
        """The boot-protocol report: modifiers, reserved, six key codes (none pressed)."""
        return bytes(REPORT_SIZE)

    def control(self, setup: bytes, data: bytes = b"") -> bytes | None:
        """One control transfer; see the module docstring."""
        request_type, request = setup[0], setup[1]
        value = int.from_bytes(setup[2:4], "little")
        index = int.from_bytes(setup[4:6], "little")
        length = int.from_bytes(setup[6:8], "little")
        self.requests.append((request_type, request, value, index, length))
        answer = self._answer(request_type, request, value, data)
        if answer is None:
            return None
        return answer[:length] if request_type & 0x80 else b""

    def _answer(self, request_type: int, request: int, value: int, data: bytes) -> bytes | None:
        kind = (request_type >> 5) & 3
        if kind == 0:
            return self._standard(request_type, request, value)
        if kind == 1 and request_type & 0x1F == 1:
            return self._hid(request, value, data)
        return None

    def _standard(self, request_type: int, request: int, value: int) -> bytes | None:
        recipient = request_type & 0x1F
        if request == GET_DESCRIPTOR and request_type == 0x80:
            kind, index = value >> 8, value & 0xFF
            if kind == DT_DEVICE:
                return _device_descriptor()
            if kind == DT_CONFIGURATION and index == 0:
                return _configuration_descriptor(self.speed)
            if kind == DT_STRING:
                return _string_descriptor(index)
            return None
        if request == SET_ADDRESS and request_type == 0x00:
            self.address = value & 0x7F
            return b""
        if request == GET_CONFIGURATION and request_type == 0x80:
            return bytes([self.configuration])
        if request == SET_CONFIGURATION and request_type == 0x00:
            if value & 0xFF not in (0, 1):
                return None
            self.configuration = value & 0xFF
            return b""
        if request == GET_STATUS and request_type & 0x80:
            if recipient == 0:
                return bytes([int(self.remote_wakeup) << 1, 0])
            return bytes(2)
        if request in (CLEAR_FEATURE, SET_FEATURE) and request_type == 0x00:
            if value != FEATURE_REMOTE_WAKEUP:
                return None
            self.remote_wakeup = request == SET_FEATURE
            return b""
        if request == GET_INTERFACE and request_type == 0x81:
            return bytes(1)
        if request == SET_INTERFACE and request_type == 0x01:
            return b"" if value == 0 else None
        return None

    def _hid(self, request: int, value: int, data: bytes) -> bytes | None:
        if request == HID_GET_REPORT:
            return self.report()
        if request == HID_SET_REPORT:
            if data:
                self.leds = data[0]
            return b""
        if request == HID_GET_IDLE:
            return bytes([self.idle])
        if request == HID_SET_IDLE:
            self.idle = value >> 8
            return b""
        if request == HID_GET_PROTOCOL:
            return bytes([self.protocol])
        if request == HID_SET_PROTOCOL:
            self.protocol = value & 1
            return b""
        return None

    def interrupt_in(self, endpoint: int, length: int) -> bytes | None:
        """A poll of the report endpoint: NAK (None) while no key changes, as QEMU's HID
        keyboard answers with no input events and no idle period running."""
        return None


USB_DEVICE_MODELS = {"usb-kbd": UsbKeyboard}
"""The USB device models by QEMU's -device name."""
