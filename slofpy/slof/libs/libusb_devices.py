"""libusb's USB core for devices (SLOF's usb-core.c, usb-slof.c) and its HID keyboard
(usb-hid.c, usb-key.c), in Python: what happens once a host-controller driver found a
device on a port.

* Device set-up (usb_setup_new_device): a control pipe, the first 8 bytes of the device
  descriptor, SET_ADDRESS unless the controller did it (xHCI devices are "super speed" to
  the core, so it never does on xHCI), 100 ms, the device and configuration descriptors,
  SET_CONFIGURATION, 100 ms, and the interface and endpoint descriptors: the device's
  class (interface class, subclass, protocol) and up to 4 endpoints.
* The SLOF node (usb-slof.c): for a HID keyboard, the core hands a struct slof_usb_dev
  (udev, port, address, controller type and number, device type) to the Forth of
  dev-keyb.fs, included in the controller's node; a HID mouse gets dev-mouse.fs. Hubs and
  mass storage would need bulk transfers and hub requests slofpy does not carry out: they
  throw "not supported by slofpy: usb hub" / "usb mass storage".
* The keyboard words: usb-hid-init (SET_PROTOCOL boot, SET_IDLE 500 ms, GET_REPORT, the
  interrupt pipe), usb-hid-exit, usb-key-available (one poll of the interrupt pipe, then
  whether the key buffer holds a key) and usb-read-keyb (the next key, or 0). Key codes
  become characters as usb-key.c's US tables say: letters, digits and punctuation, CR for
  Enter, escape sequences for the function and cursor keys, Caps Lock kept as an LED state.

A device's `udev` handed to Forth is an address in a 4 KiB block of guest memory taken with
alloc-mem on first use (as the C's device pool); what the C keeps in its struct usb_dev is
kept in a Python `UsbDevice` found by that address. The C's stack variables that go to the
controller by DMA (requests, descriptors) live at the end of the same block.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import Throw
from ...vm.outer import evaluate_text

DEVPOOL_SIZE = 4096
DEVICE_STRIDE = 128
STACK = DEVPOOL_SIZE - 256      # the C's stack variables: request, descriptors, slof_usb_dev
REQ, DESCR, CFG, SDEV, KEY = STACK, STACK + 16, STACK + 48, STACK + 64, STACK + 96

DESCR_TYPE_DEVICE, DESCR_TYPE_CONFIGURATION = 1, 2
DESCR_TYPE_INTERFACE, DESCR_TYPE_ENDPOINT = 4, 5
REQ_SET_ADDRESS, REQ_GET_DESCRIPTOR, REQ_SET_CONFIGURATION = 5, 6, 9
HID_GET_REPORT, HID_SET_IDLE, HID_SET_PROTOCOL = 0x01, 0x0A, 0x0B
USB_EP_TYPE_CONTROL, USB_EP_TYPE_INTR = 0, 3
USB_DEV_EP_MAX = 4
DEV_HID_KEYB, DEV_HID_MOUSE = 0x030101, 0x030102
DEVICE_KEYBOARD, DEVICE_MOUSE = 1, 2
USB_HID_SIZE = 128

MODIFIER_CTRL, MODIFIER_SHIFT, MODIFIER_ALT_GR = 0x11, 0x22, 0x40
LED_NUM_LOCK, LED_CAPS_LOCK, LED_SCROLL_LOCK = 1, 2, 4


def _table(pieces: dict[int, bytes]) -> bytes:
    """A 101-entry key table from runs of characters starting at given usage IDs."""
    table = bytearray(101)
    for start, chars in pieces.items():
        table[start:start + len(chars)] = chars
    return bytes(table)


KEYS_US = _table({4: b"abcdefghijklmnopqrstuvwxyz1234567890\r\x1b\x08\t -=[]\\\\;'`,./",
                  84: b"/*-+\r1234567890.\\"})
KEYS_US_SHIFT = _table({4: b"ABCDEFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()\r\x1b\x08\t _+{}||:\"~<>?",
                        73: b"0791.36428", 84: b"/*-+\r1234567890.|"})
KEYS_CTRL = _table({4: bytes(range(1, 27))})
KEYS_ALT_GR = _table({20: b"@", 36: b"{[]}", 45: b"\\", 48: b"~", 100: b"|"})
ESCAPES = {0x3A: b"\x1b[OP", 0x3B: b"\x1b[OQ", 0x3C: b"\x1b[OR", 0x3D: b"\x1b[OS",
           0x3E: b"\x1b[15~", 0x3F: b"\x1b[17~", 0x40: b"\x1b[18~", 0x41: b"\x1b[19~",
           0x42: b"\x1b[20~", 0x43: b"\x1b[21~", 0x44: b"\x1b[23~", 0x45: b"\x1b[24~",
           0x49: b"\x1b[2~", 0x4A: b"\x1bOH", 0x4B: b"\x1b[5~", 0x4C: b"\x1b[3~",
           0x4D: b"\x1bOF", 0x4E: b"\x1b[6~", 0x4F: b"\x1b[C", 0x50: b"\x1b[D",
           0x51: b"\x1b[B", 0x52: b"\x1b[A"}
LOCKS = {0x39: LED_CAPS_LOCK, 0x32: LED_CAPS_LOCK, 0x47: LED_SCROLL_LOCK, 0x53: LED_NUM_LOCK}


@dataclass
class UsbDevice:
    """struct usb_dev: what the core knows of one device."""

    handle: int                         # its address in guest memory (Forth's udev)
    hcidev: int
    speed: int = 0
    addr: int = 0
    port: int = 0
    hub: object | None = None
    priv: object | None = None          # the controller driver's device state
    klass: int = 0
    intf_num: int = 0
    eps: list[bytes] = field(default_factory=list)
    ep_cnt: int = 0
    control: object | None = None
    intr: object | None = None


class UsbDevices:
    """The core's devices and the keyboard state of one booting VM (the C's statics)."""

    SUPER_SPEED = 3

    def __init__(self, lib):
        self.lib = lib
        self.pool = 0
        self.used = 0
        self.by_handle: dict[int, UsbDevice] = {}
        self.bulk_took_event = False        # usb-xhci.c's usb_kb
        self.keybuf: list[int] = []
        self.key_last = bytes(6)
        self.leds = 0
        self.kbd_buffer = 0

    # ------------------------------------------------------------ devices
    def new_device(self, hcidev: int) -> UsbDevice:
        """usb_devpool_get: the next device of the pool (4 KiB of alloc-mem on first use)."""
        if not self.pool:
            self.pool = self.lib.forth("alloc-mem", DEVPOOL_SIZE)[0]
            if not self.pool:
                raise Throw(-9)             # the C follows the NULL it gets
        if self.used + DEVICE_STRIDE > STACK:
            raise Throw(-21, "not supported by slofpy: more than 30 USB devices")
        handle = self.pool + self.used
        self.used += DEVICE_STRIDE
        self.lib.fill(handle, bytes(DEVICE_STRIDE))
        dev = UsbDevice(handle, hcidev)
        self.by_handle[handle] = dev
        return dev

    def device(self, handle: int) -> UsbDevice | None:
        return self.by_handle.get(handle)

    def driver(self, dev: UsbDevice):
        return self.lib.xhcds.get(dev.hcidev)

    def send_ctrl(self, pipe, request: bytes, data: int) -> bool:
        """usb_send_ctrl: the request (8 bytes, little-endian fields) from the C's stack."""
        if pipe is None:
            return False
        driver = self.driver(pipe.dev)
        if driver is None:
            self.lib.print(b"usb_send_ctrl: Failed\n")
            return False
        self.lib.fill(self.pool + REQ, request)
        return driver.send_ctrl(pipe, self.pool + REQ, data)

    @staticmethod
    def request(request_type: int, request: int, value: int, index: int, length: int) -> bytes:
        return bytes([request_type, request]) + b"".join(
            (v & 0xFFFF).to_bytes(2, "little") for v in (value, index, length))

    def get_pipe(self, dev: UsbDevice, ep: bytes):
        driver = self.driver(dev)
        if driver is None:
            self.lib.print(b"usb_get_pipe: Failed\n")
            return None
        return driver.get_pipe(dev, ep)

    def setup_new_device(self, dev: UsbDevice, port: int) -> bool:
        lib, pool = self.lib, self.pool
        dev.addr = 0
        dev.port = port
        dev.control = self.get_pipe(dev, bytes([7, 5, 0, USB_EP_TYPE_CONTROL, 8, 0, 0]))
        get_descr = self.request(0x80, REQ_GET_DESCRIPTOR, DESCR_TYPE_DEVICE << 8, 0, 8)
        if not self.send_ctrl(dev.control, get_descr, pool + DESCR):
            return False
        dev.control.mps = lib.guest_bytes(pool + DESCR + 7, 1)[0]
        if dev.speed != self.SUPER_SPEED:
            raise Throw(-21, "not supported by slofpy: usb device below an OHCI or EHCI")
        lib.msleep(100)
        get_descr = self.request(0x80, REQ_GET_DESCRIPTOR, DESCR_TYPE_DEVICE << 8, 0, 18)
        if not self.send_ctrl(dev.control, get_descr, pool + DESCR):
            return False
        get_cfg = self.request(0x80, REQ_GET_DESCRIPTOR, DESCR_TYPE_CONFIGURATION << 8, 0, 9)
        if not self.send_ctrl(dev.control, get_cfg, pool + CFG):
            return False
        cfg = lib.guest_bytes(pool + CFG, 9)
        length = int.from_bytes(cfg[2:4], "little")
        if length == 9:
            return False
        data = lib.dma_alloc(length)
        if not data:
            lib.print(b"usb_setup_new_device: alloc failed %d\n" % port)
            return False
        get_all = self.request(0x80, REQ_GET_DESCRIPTOR, DESCR_TYPE_CONFIGURATION << 8, 0,
                               length)
        ok = self.send_ctrl(dev.control, get_all, data) and self.send_ctrl(
            dev.control, self.request(0, REQ_SET_CONFIGURATION, cfg[5], 0, 0), 0)
        if ok:
            lib.msleep(100)
            self.handle_device(dev, lib.guest_bytes(data, length))
        lib.dma_free(data, length)
        return ok

    def handle_device(self, dev: UsbDevice, descriptors: bytes) -> None:
        """usb_handle_device: the interface's class and the endpoint descriptors."""
        at, interface_number = 9, None
        while at < len(descriptors):
            length, kind = descriptors[at], descriptors[at + 1] if at + 1 < len(descriptors) else 0
            if length == 0:
                raise Throw(-21, "not supported by slofpy: a zero-length USB descriptor "
                                 "(SLOF loops on it)")
            if kind == DESCR_TYPE_INTERFACE:
                d = descriptors[at:at + 9].ljust(9, b"\0")
                dev.klass = d[5] << 16 | d[6] << 8 | d[7]
                interface_number = d[2]
            elif kind == DESCR_TYPE_ENDPOINT:
                dev.intf_num = interface_number or 0
                if dev.ep_cnt < USB_DEV_EP_MAX:
                    dev.eps.append(descriptors[at:at + 7].ljust(7, b"\0"))
                dev.ep_cnt += 1
            at += length

    def populate_new_device(self, dev: UsbDevice) -> None:
        """usb_slof_populate_new_device: the device's node, by its interface class."""
        interface_class = (dev.klass >> 16) & 0xFF
        if interface_class == 3:
            if dev.klass == DEV_HID_KEYB:
                self.slof_node(dev, DEVICE_KEYBOARD, b"dev-keyb.fs")
            elif dev.klass == DEV_HID_MOUSE:
                self.slof_node(dev, DEVICE_MOUSE, b"dev-mouse.fs")
        elif interface_class == 8:
            raise Throw(-21, "not supported by slofpy: usb mass storage")
        elif interface_class == 9:
            raise Throw(-21, "not supported by slofpy: usb hub")
        else:
            self.lib.print(b"USB Interface class -%x- Not supported\n" % dev.klass)

    def slof_node(self, dev: UsbDevice, devtype: int, fs: bytes) -> None:
        lib = self.lib
        hcitype = lib.get(dev.hcidev + 8) & 0xFFFFFFFF
        num = lib.get(dev.hcidev + 16) & 0xFFFFFFFF
        sdev = self.pool + SDEV
        lib.fill(sdev, dev.handle.to_bytes(8, "big") + b"".join(
            v.to_bytes(4, "big") for v in (dev.port, dev.addr, hcitype, num, devtype)))
        lib.push(sdev)
        evaluate_text(lib.vm, b's" ' + fs + b'" INCLUDED')

    # ------------------------------------------------------------ HID keyboard
    def hid_init(self, dev: UsbDevice) -> None:
        """usb_hid_kbd_init."""
        lib = self.lib
        self.send_ctrl(dev.control, self.request(0x21, HID_SET_PROTOCOL, 0, dev.intf_num, 0), 0)
        self.send_ctrl(dev.control,
                       self.request(0x21, HID_SET_IDLE, (500 // 4) << 8, dev.intf_num, 0), 0)
        key = self.pool + KEY
        lib.fill(key, bytes(8))
        if self.send_ctrl(dev.control, self.request(0xA1, HID_GET_REPORT, 1 << 8,
                                                    dev.intf_num, 8), key):
            self.check_key_code(lib.guest_bytes(key, 8))
        self.kbd_buffer = lib.dma_alloc(USB_HID_SIZE)
        if not self.kbd_buffer:
            lib.print(b"usb_hid_kbd_init: unable to allocate keyboard buffer\n")
            return
        for ep in dev.eps:
            if ep[3] & 3 == USB_EP_TYPE_INTR:
                dev.intr = self.get_pipe(dev, ep)

    def hid_exit(self, dev: UsbDevice) -> None:
        if dev.intr is not None:
            driver = self.driver(dev)
            if driver is not None:
                driver.put_pipe(dev.intr)
            dev.intr = None
        self.lib.dma_free(self.kbd_buffer, USB_HID_SIZE)

    def key_available(self, dev: UsbDevice) -> bool:
        """usb_key_available: one poll of the interrupt pipe, then the key buffer."""
        driver = self.driver(dev)
        if dev.intr is not None and driver is not None:
            key = self.pool + KEY
            self.lib.fill(key, bytes(8))
            if driver.poll_intr(dev.intr, key):
                self.check_key_code(self.lib.guest_bytes(key, 8))
        return bool(self.keybuf)

    def write_key(self, chars: bytes) -> None:
        for ch in chars:
            if len(self.keybuf) < 255:          # the C's 256-byte ring keeps one free
                self.keybuf.append(ch)

    def check_key_code(self, report: bytes) -> None:
        """A boot report: each newly pressed key becomes characters (usb-key.c's tables)."""
        if report[0] & MODIFIER_SHIFT:
            self.leds &= ~LED_CAPS_LOCK
        for key in report[2:8]:
            if not key or key > 100 or key in self.key_last:
                continue
            if key in LOCKS:
                self.leds ^= LOCKS[key]
            elif key in ESCAPES:
                self.write_key(ESCAPES[key])
            else:
                self.write_key(self.character(report[0], key))
        self.key_last = bytes(report[2:8])

    def character(self, modifiers: int, key: int) -> bytes:
        caps = bool(self.leds & LED_CAPS_LOCK)
        latin = 4 <= key <= 29
        if (not caps and modifiers == 0) or (caps and not latin):
            table = KEYS_US
        elif modifiers & MODIFIER_SHIFT or caps:
            table = KEYS_US_SHIFT
        elif modifiers & MODIFIER_CTRL:
            table = KEYS_CTRL
        elif modifiers == MODIFIER_ALT_GR:
            table = KEYS_ALT_GR
        else:
            return b""
        return bytes([table[key]]) if table[key] else b""

    def read_key(self) -> int:
        return self.keybuf.pop(0) if self.keybuf else 0
