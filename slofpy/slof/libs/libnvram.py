"""libnvram: SLOF's NVRAM partitions and its environment variables, as board-qemu builds the
library (RTAS_NVRAM): every byte goes through the RTAS calls nvram-fetch and nvram-store.

The NVRAM belongs to the host. This library reaches it only as SLOF's C does: it builds an
RTAS argument block (token, 3 args, 2 rets; offset, buffer, length) in guest memory (in
paflof's memory, FRAME_FROM_SCRATCH past SlofMachine.scratch, standing for the C stack frame
that holds it in SLOF) and makes the KVMPPC_H_RTAS hcall with its address. A read
of one to eight bytes lands in a value slot next to that block and is read back big-endian;
a write puts its value there first. Reads and writes past the NVRAM's end (as told to
internal-nvram-init) do nothing and read 0, without an RTAS call.

What SLOF keeps in memory stays in guest memory: the buffer internal-nvram-init is given
(SLOF erases through it in one nvram-store and parks bytes in it while it moves variables or
partitions), and the static string internal-get-env hands out.

The layout on the NVRAM: partitions one after another from offset 0, each a 16-byte header
(type byte, checksum byte, length in 16-byte blocks as a big-endian u16 counting the header,
a 12-byte name, zero-padded and not always zero-ended) and its data. The checksum is the
16-bit sum of the type byte and header bytes 2..15, folded once (high byte plus low byte,
kept to a byte). The walk over partitions stops at the first header whose checksum is wrong
or, for a typed search, whose length is 0. The common partition (type 70, "common") holds
the environment as "name=value" strings, each ended by a 0 byte, the list ended by an empty
string; the free space partition (type 7f, "free space") takes what is left after the last.

The words keep SLOF's C arithmetic: offsets cut to 32 bits, lengths as C's int or unsigned,
lookups by name and variable that compare like strncmp (a variable name matches any variable
it is a prefix of), and the C's own oddities (increase-nvram-partition takes its arguments
in the order its code pops them, new-len part.len part.addr, and writes the new length in
bytes into the header without a new checksum; internal-del-env moves nothing and zeroes
as many bytes after the variables' end as that end's offset, which takes the free space
partition's header with it; internal-add-env into a partition whose list has no end writes
from offset -1, wrapping to 0). Where SLOF's C would spin forever (a zero-length header of
another type found by `0 get-nvram-partition`; internal-set-env walking back for an "="
the NVRAM does not hold) or write through a null pointer (internal-del-env without the
buffer), slofpy throws one clear error instead.
"""
from __future__ import annotations

import struct

from ...errors import Throw
from ...abi.hcalls import KVMPPC_H_RTAS
from .base import CLibrary, c_word

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
HEADER = 16                              # bytes of a partition header
NAME_LEN = 12
TYPE_ANY = M32                           # get_partition's "any type"
TYPE_COMMON, TYPE_FREE, TYPE_CPULOG = 0x70, 0x7F, 0x51
COMMON_SIZE = 0x1000                     # bytes, with its header
CPULOG_PARTITIONS = ((b"ibm,CPU0log", 0x200), (b"ibm,CPU1log", 0x80))   # name, 16-byte blocks
CPULOG_DATA_OFFSET = 0x40
ENV_TEMP = 256                           # a variable string is read up to this many bytes

# Where this library's C would keep its stack frame and its static string, as offsets into
# paflof's memory after the client-interface scratch block (SlofMachine.scratch).
FRAME_FROM_SCRATCH = 0x8000
RTAS_BLOCK = struct.Struct(">8I")        # token nargs nret, 5 argument/return cells
RTAS_BLOCK_SIZE = RTAS_BLOCK.size
ENV_STRING_FROM_SCRATCH = 0x8100


def s32(value: int) -> int:
    """value as C's int."""
    value &= M32
    return value - (1 << 32) if value >> 31 else value


def s64(value: int) -> int:
    """value as C's long."""
    value &= M64
    return value - (1 << 64) if value >> 63 else value


def strncmp(a: bytes, b: bytes, n: int) -> int:
    """C's strncmp on byte strings that read as 0 past their ends (0 when equal)."""
    for i in range(n):
        x = a[i] if i < len(a) else 0
        y = b[i] if i < len(b) else 0
        if x != y:
            return x - y
        if x == 0:
            return 0
    return 0


def header_checksum(header: bytes) -> int:
    """The checksum a 16-byte partition header should carry in its byte 1."""
    plain = (header[0] + sum(header[2:HEADER])) & 0xFFFF
    return ((plain >> 8) + (plain & 0xFF)) & 0xFF


class LibNvram(CLibrary):
    def __init__(self, slof):
        super().__init__(slof)
        self.fetch_token = 0
        self.store_token = 0
        self.length = 0                  # the NVRAM's size in bytes (SLOF's NVRAM_LENGTH)
        self.buffer = 0                  # guest address of the buffer SLOF handed over
        self.buffer_locked = False
        self.frame = slof.scratch + FRAME_FROM_SCRATCH
        self.value_slot = self.frame + RTAS_BLOCK_SIZE
        self.env_string = slof.scratch + ENV_STRING_FROM_SCRATCH

    # ================================================================ RTAS and NVRAM access
    def _rtas(self, token: int, offset: int, buffer: int, length: int,
              value: bytes = b"") -> None:
        """One nvram-fetch or nvram-store call, its block built where the C's frame is (the
        value slot after it filled with value, when given, in the same write)."""
        self.vm.write(self.frame, RTAS_BLOCK.pack(token & M32, 3, 2, offset & M32,
                                                  buffer & M32, length & M32, 0, 0) + value)
        self.hcall(KVMPPC_H_RTAS, self.frame)

    def _fetch(self, offset: int, buffer: int, length: int) -> None:
        self._rtas(self.fetch_token, offset, buffer, length)

    def _store(self, offset: int, buffer: int, length: int) -> None:
        self._rtas(self.store_token, offset, buffer, length)

    def _in_range(self, offset: int, size: int) -> bool:
        # C compares the u32 offset with NVRAM_LENGTH - sizeof(type) as 64-bit unsigned
        return (offset & M32) <= (self.length - size) & M64

    def read(self, offset: int, size: int) -> int:
        """nvram_read_byte/word/dword/qword: size bytes at offset, big-endian (0 past the end)."""
        if not self._in_range(offset, size):
            return 0
        # the C's value is an uninitialised local; here it reads 0 if the fetch fails
        self._rtas(self.fetch_token, offset, self.value_slot, size, bytes(size))
        return int.from_bytes(self.vm.read(self.value_slot, size), "big")

    def write(self, offset: int, size: int, value: int) -> None:
        """nvram_write_byte/word/dword/qword: value, cut to size bytes, big-endian at offset."""
        if not self._in_range(offset, size):
            return
        self._rtas(self.store_token, offset, self.value_slot, size,
                   (value & ((1 << 8 * size) - 1)).to_bytes(size, "big"))

    def byte(self, offset: int) -> int:
        return self.read(offset, 1)

    def put_byte(self, offset: int, value: int) -> None:
        self.write(offset, 1, value)

    def _put_bytes(self, offset: int, data: bytes) -> int:
        """Byte by byte from the u32 offset on (as the C's loops of nvram_write_byte, which
        pass over offsets past the end); the offset after the last byte."""
        limit = (self.length - 1) & M64
        for i, value in enumerate(data):
            where = (offset + i) & M32
            if where <= limit:
                self.put_byte(where, value)
        return (offset + len(data)) & M32

    # ---------------------------------------------------------- the buffer SLOF handed over
    def _get_buffer(self, length: int) -> int | None:
        """get_nvram_buffer: the buffer's guest address, None if too short or in use. As in
        the C, it is taken (locked) even when there is none yet (before internal-nvram-init)
        and then answers None."""
        if (length & M32) > self.length or self.buffer_locked:
            return None
        self.buffer_locked = True
        return self.buffer or None

    def _free_buffer(self) -> None:
        self.buffer_locked = False

    def erase(self, offset: int, length: int) -> None:
        """erase_nvram(int offset, int len): through the buffer in one store when it is free,
        else byte by byte."""
        offset, length = s32(offset), s32(length)
        buffer = self._get_buffer(length)
        if buffer is not None:
            self.vm.write(buffer, bytes(length))
            self._store(offset, buffer, length)
            self._free_buffer()
            return
        # the C's loop writes 0 at offset..offset+len-1, where only offsets inside the NVRAM
        # do anything (before internal-nvram-init, when the C would send every one of them to
        # RTAS token 0, which the host refuses, slofpy sends none)
        start = max(offset, 0)
        for i in range(start, min(offset + length, self.length) if self.length else start):
            self.put_byte(i, 0)

    # =============================================================== partition headers
    def _calc_checksum(self, offset: int) -> int:
        """calc_partition_header_checksum: from the header's bytes as the NVRAM holds them."""
        header = [self.byte(offset), 0] + [self.byte(offset + i) for i in range(2, HEADER)]
        return header_checksum(bytes(header))

    def _name(self, offset: int) -> bytes:
        return bytes(self.byte(offset + 4 + i) for i in range(NAME_LEN))

    def used_space(self) -> int:
        """calc_used_nvram_space: the offset after the last valid, typed partition."""
        walk = 0
        while walk < self.length:
            if self.byte(walk) == 0 or self.byte(walk + 1) != self._calc_checksum(walk):
                break
            blocks = self.read(walk + 2, 2)
            if not blocks:
                break
            walk += blocks * 16
        return walk

    def find_partition(self, ptype: int, name: bytes | None = None) -> tuple[int, int]:
        """get_partition: (data address, data length) of the first partition of type ptype
        (TYPE_ANY: any) and, with a name, of that name; (0, -1) when there is none."""
        ptype &= M32
        walk = 0
        while walk < self.length:
            if self.byte(walk + 1) != self._calc_checksum(walk):
                break
            blocks = self.read(walk + 2, 2)
            if ptype and not blocks:
                break
            if (ptype != TYPE_ANY and ptype != self.byte(walk)) or \
                    (name is not None and strncmp(self._name(walk), name, NAME_LEN)):
                if not blocks:
                    raise Throw(-21, f"libnvram: the zero-length partition header at NVRAM "
                                     f"offset {walk:#x} stops the walk (SLOF's C loops forever)")
                walk += blocks * 16
                continue
            return (walk + HEADER) & M32, (blocks * 16 - HEADER) & M32   # C's unsigned
        return 0, -1

    def wipe_partition(self, addr: int, length: int, header_only: bool) -> None:
        start = s32(addr - HEADER)
        size = HEADER if header_only else s32(HEADER + length)
        self.erase(start, size)

    def create_partition(self, ptype: int, name: bytes, length: int) -> tuple[int, int]:
        """create_nvram_partition: a partition of `length` data bytes after the used space;
        (data address, length), or (0, 0) when it does not fit."""
        length &= M32
        size = (length + HEADER + 15) & ~15 & M32
        offset = self.used_space()
        if (self.length - self.used_space()) & M32 < size:
            return 0, 0
        self.put_byte(offset, ptype)
        self.write(offset + 2, 2, size // 16)
        name = name.split(b"\0", 1)[0]
        self._put_bytes(offset + 4, name)
        self.put_byte(offset + 1, self._calc_checksum(offset))
        return (offset + HEADER) & M32, length

    def create_free_partition(self) -> bool:
        free = s32(self.length - self.used_space() - HEADER)
        return self.create_partition(TYPE_FREE, b"free space", free)[0] != 0

    def new_partition(self, ptype: int, name: bytes, length: int) -> tuple[int, int]:
        """new_nvram_partition: the free space partition gives way to the new one and is
        made again after it; (0, 0) when it does not fit."""
        free_addr, free_len = self.find_partition(TYPE_FREE)
        if free_len and free_len != -1:
            self.wipe_partition(free_addr, free_len, True)
        addr, got = self.create_partition(ptype, name, length)
        if got != s32(length):
            addr, got = 0, 0
        self.create_free_partition()
        return addr, got

    def delete_partition(self, addr: int, length: int) -> bool:
        length = s64(length)
        if not length or length == -1:
            return False
        start = (addr + length) & M32
        for i in range(start, self.length):
            self.put_byte(i - length - HEADER, self.byte(i))
        self.erase(self.length - length - HEADER, length - HEADER)
        free_addr, free_len = self.find_partition(TYPE_FREE)
        self.wipe_partition(free_addr, free_len, False)
        self.create_free_partition()
        return True

    def increase_partition(self, addr: int, length: int, new_size: int) -> bool:
        """increase_nvram_partition_size, SLOF's C step by step."""
        length, new_size = s64(length), s32(new_size)
        if new_size < length:
            return False
        free_addr, free_len = self.find_partition(TYPE_FREE)
        if free_len == -1 or free_len < new_size - length:
            return False
        free_offset = s32(free_addr - HEADER)
        end_offset = s32(addr + length)
        if free_offset > end_offset:
            moved = free_offset - end_offset
            buffer = self._get_buffer(moved)
            if buffer is None:
                return False
            self.vm.write(buffer, bytes(self.byte(i) for i in range(end_offset, free_offset)))
            self.wipe_partition(free_addr, free_len, True)
            to = s32(addr + new_size)
            parked = self.vm.read(buffer, moved)
            for i, value in zip(range(to, s32(addr + new_size + moved)), parked):
                self.put_byte(i, value)
            self._free_buffer()
        else:
            self.wipe_partition(free_addr, free_len, True)
        self.erase(s32(addr + length), s32(new_size - length))
        self.write(addr - HEADER + 2, 2, new_size)
        self.create_free_partition()
        return True

    def reset(self) -> None:
        """reset_nvram: all zero, then the two CPU log partitions, the common partition and
        the free space partition."""
        self.erase(0, self.length)
        logs = [self.create_partition(TYPE_CPULOG, name, blocks * 16 - HEADER)
                for name, blocks in CPULOG_PARTITIONS]
        for addr, _ in logs:
            self.write(addr, 2, CPULOG_DATA_OFFSET)
            self.write(addr + 2, 2, 0)
            self.write(addr + 4, 4, 1)
        self.create_partition(TYPE_COMMON, b"common", COMMON_SIZE - HEADER)
        self.create_free_partition()

    # =============================================================== environment variables
    def _strings(self, offset: int, temp: bytearray, terminate: bool):
        """The variable strings from offset on, as the C reads them into temp: yields
        (length read, offset after it) for each, the last one being the empty string."""
        while True:
            n = 0
            while True:
                value = self.byte(offset)
                offset += 1
                if not value or n >= ENV_TEMP:
                    break
                temp[n] = value
                n += 1
            if terminate:
                temp[n] = 0
            yield n, offset
            if not n:
                return

    def past_variable(self, addr: int, name: bytes, name_len: int) -> int:
        """get_past_env_pos: the offset after the string `name` starts (-1: none)."""
        temp = bytearray(ENV_TEMP)
        for _, offset in self._strings(s32(addr), temp, terminate=False):
            if not strncmp(name, temp, name_len):
                return offset
        return -1

    def get_variable(self, addr: int, name: bytes, name_len: int) -> int | None:
        """nvram_get_env: the guest address of the value (in the library's static string),
        or None."""
        if not addr:
            return None
        temp = bytearray(self.vm.read(self.env_string, ENV_TEMP + 1))
        try:
            for n, _ in self._strings(s32(addr), temp, terminate=True):
                if not strncmp(name, temp, name_len):
                    pos = 0
                    while temp[pos] != ord("=") and pos < n:
                        pos += 1
                    return self.env_string + pos + 1
        finally:
            self.vm.write(self.env_string, bytes(temp))
        return None

    def last_variable_end(self, addr: int, length: int) -> int:
        """find_last_envvar: the offset of the 0 that ends the list (-1: none)."""
        last = self.byte(addr)
        for offset in range(s32(addr), s32(addr + length)):
            current = self.byte(offset)
            if not last and not current:
                return offset
            last = current
        return -1

    def add_variable(self, addr: int, length: int, name: int, name_len: int, value: int,
                     value_len: int) -> int:
        """nvram_add_env: "name=value" (both strings in guest memory) after the last
        variable; 0, or -1 when it does not fit (its 0 ends are what is already there)."""
        last = self.last_variable_end(addr, length) & M32
        room = (addr + length - last) & M32
        name_len, value_len = name_len & M32, value_len & M32
        if room < (name_len + value_len + 2) & M32:
            return -1
        offset = self._put_bytes(last, self._string(name, name_len))
        offset = self._put_bytes(offset, b"=")
        self._put_bytes(offset, self._string(value, value_len))
        return 0

    def delete_variable(self, addr: int, length: int, name: bytes, name_len: int) -> int:
        """nvram_del_env, SLOF's C step by step (it finds the variable, moves the bytes after
        it onto themselves and zeroes from the list's end on)."""
        if not addr:
            return -1
        last = self.last_variable_end(addr, length)
        pos = self.past_variable(addr, name, name_len)
        current = pos - 1
        while self.byte(current):
            current -= 1
        current += 1
        count = s32(last - pos)
        buffer = self._get_buffer(count)
        if buffer is None and count > 0:
            raise Throw(-21, "libnvram: internal-del-env: no NVRAM buffer for "
                             f"{count} bytes (SLOF's C would write through a null pointer)")
        if count > 0:
            self.vm.write(buffer, bytes(self.byte(i + pos) for i in range(count)))
            parked = self.vm.read(buffer, count)
            for i in range(count):
                self.put_byte(i + current, parked[i])
        self._free_buffer()
        self.erase(last, current + last - pos)
        return 0

    def set_variable(self, addr: int, length: int, name: int, name_len: int, value: int,
                     value_len: int) -> int:
        """nvram_set_env: a new value in place, the variables after it moved along (or the
        variable added when there is none); 0, or -1 on failure."""
        if not addr:
            return -1
        name_len, value_len = name_len & M32, value_len & M32
        name_text = self._name_arg(name, name_len)
        old = self.get_variable(addr, name_text, name_len)
        if old is None:
            return self.add_variable(addr, length, name, name_len, value, value_len)
        new_value = self._string(value, value_len)
        old_value = self.c_string(old)
        if len(old_value) == value_len and not strncmp(old_value, new_value, value_len):
            return 0
        last = self.last_variable_end(addr, length) & M32
        current = self.past_variable(addr, name_text, name_len) & M32
        size = (last - current) & M32
        buffer = self._get_buffer(size)
        if buffer is None:
            return -1
        self.vm.write(buffer, bytes(self.byte(current + i) for i in range(size)))
        current = self._back_to_equals(current)
        current = self._put_bytes(current + 1, new_value + b"\0")
        current = self._put_bytes(current, self.vm.read(buffer, size))
        self._free_buffer()
        for i in range(current, last):
            self.put_byte(i, 0)
        return 0

    def _back_to_equals(self, current: int) -> int:
        """The C's walk back (u32 offsets) to the "=" before current."""
        top = (self.length - 1) & M32
        for _ in range(self.length + 1):
            if current > top:
                current = top                  # bytes past the end read 0: skip them
            if self.byte(current) == ord("="):
                return current
            current = (current - 1) & M32
        raise Throw(-21, "libnvram: internal-set-env: no \"=\" in the NVRAM before the "
                         "variable (SLOF's C loops forever)")

    # ================================================================= the Forth words
    def _string(self, addr: int, length: int) -> bytes:
        return self.vm.read(addr, length) if length else b""

    def _name_arg(self, addr: int, length: int) -> bytes:
        """A variable name as strncmp reads it: at most length bytes, up to where a
        256-byte string compare can reach."""
        return self._string(addr, min(length & M32, ENV_TEMP + 2))

    def _flag(self, true: bool) -> None:
        self.push(-1 if true else 0)

    def _partition_result(self, addr: int, length: int) -> None:
        if length and length != -1:
            self.push(addr, length, 0)
        else:
            self.push(-1)

    @c_word("nvram-c@")
    def fetch_byte(self) -> None:              # ( offset -- byte )
        self.push(self.read(self.pop()[0], 1))

    @c_word("nvram-w@")
    def fetch_word(self) -> None:              # ( offset -- u16 )
        self.push(self.read(self.pop()[0], 2))

    @c_word("nvram-l@")
    def fetch_long(self) -> None:              # ( offset -- u32 )
        self.push(self.read(self.pop()[0], 4))

    @c_word("nvram-x@")
    def fetch_quad(self) -> None:              # ( offset -- u64 )
        self.push(self.read(self.pop()[0], 8))

    @c_word("nvram-c!")
    def store_byte(self) -> None:              # ( value offset -- )
        value, offset = self.pop(2)
        self.write(offset, 1, value)

    @c_word("nvram-w!")
    def store_word(self) -> None:              # ( value offset -- )
        value, offset = self.pop(2)
        self.write(offset, 2, value)

    @c_word("nvram-l!")
    def store_long(self) -> None:              # ( value offset -- )
        value, offset = self.pop(2)
        self.write(offset, 4, value)

    @c_word("nvram-x!")
    def store_quad(self) -> None:              # ( value offset -- )
        value, offset = self.pop(2)
        self.write(offset, 8, value)

    @c_word("internal-nvram-init")
    def init(self) -> None:                    # ( fetch-token store-token size addr -- )
        fetch, store, size, addr = self.pop(4)
        self.fetch_token, self.store_token = fetch & M32, store & M32
        self.length, self.buffer = size & M32, addr
        self.slof.nvram_size = self.length

    @c_word("internal-reset-nvram")
    def reset_nvram(self) -> None:             # ( -- )
        self.reset()

    @c_word("wipe-nvram")
    def wipe_nvram(self) -> None:              # ( -- )
        self.erase(0, self.length)

    @c_word("nvram-debug")
    def debug(self) -> None:                   # ( -- ): prints nothing with RTAS_NVRAM
        pass

    @c_word("get-nvram-partition")
    def get_partition(self) -> None:           # ( type -- addr len FALSE | TRUE )
        (ptype,) = self.pop()
        self._partition_result(*self.find_partition(ptype & M32))

    @c_word("get-named-nvram-partition")
    def get_named_partition(self) -> None:     # ( name len -- addr len FALSE | TRUE )
        name, length = self.pop(2)
        length = s32(length)
        if length < 0:
            raise Throw(-24, "get-named-nvram-partition: negative name length")
        self._partition_result(*self.find_partition(TYPE_ANY, self._string(name, length)))

    @c_word("new-nvram-partition")
    def new_nvram_partition(self) -> None:     # ( type name len size -- addr len FALSE | TRUE )
        ptype, name, name_len, size = self.pop(4)
        name_len = s32(name_len)
        name = self._string(name, min(max(name_len, 0), NAME_LEN))
        addr, got = self.new_partition(s32(ptype), name, s32(size))
        if got:
            self.push(addr, got, 0)
        else:
            self.push(-1)

    @c_word("increase-nvram-partition")
    def increase_nvram_partition(self) -> None:    # ( new-len part.len part.addr -- flag )
        new_size, length, addr = self.pop(3)
        self._flag(not self.increase_partition(addr, length, new_size))

    @c_word("erase-nvram-partition")
    def erase_partition(self) -> None:         # ( part.addr part.len -- flag )
        addr, length = self.pop(2)
        if addr:
            self.erase(s32(addr), s32(length))
        self._flag(addr != 0)

    @c_word("delete-nvram-partition")
    def delete_nvram_partition(self) -> None:  # ( part.addr part.len -- flag )
        addr, length = self.pop(2)
        self._flag(self.delete_partition(addr, length))

    @c_word("internal-get-env")
    def get_env(self) -> None:          # ( part.addr part.len name len -- val len TRUE | FALSE )
        addr, _, name, name_len = self.pop(4)
        value = self.get_variable(addr, self._name_arg(name, name_len), name_len & M32)
        if value is None:
            self.push(0)
        else:
            self.push(value, len(self.c_string(value)), -1)

    @c_word("internal-add-env")
    def add_env(self) -> None:          # ( part.addr part.len name len val len -- flag )
        self._flag(self.add_variable(*self.pop(6)) != 0)

    @c_word("internal-del-env")
    def del_env(self) -> None:          # ( part.addr part.len name len -- flag )
        addr, length, name, name_len = self.pop(4)
        self._flag(self.delete_variable(addr, length, self._name_arg(name, name_len),
                                        name_len & M32) != 0)

    @c_word("internal-set-env")
    def set_env(self) -> None:          # ( part.addr part.len name len val len -- flag )
        self._flag(self.set_variable(*self.pop(6)) != 0)


LIBRARY = LibNvram
