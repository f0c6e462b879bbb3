testing memory: cells and bytes, big-endian layout, block words, data space
hex
create buf 40 allot
T{ 0123456789abcdef buf ! buf @ -> 0123456789abcdef }T
T{ 0102030405060708 buf ! buf c@ buf 7 + c@ -> 1 8 }T
T{ buf l@ buf 4 + l@ -> 01020304 05060708 }T
T{ buf w@ buf 6 + w@ -> 0102 0708 }T
T{ buf x@ -> 0102030405060708 }T
T{ 8899aabb buf l! buf c@ buf 3 + c@ -> 88 bb }T
T{ ffff buf w! buf <w@ -> -1 }T
T{ 80000000 buf l! buf <l@ buf l@ -> -80000000 80000000 }T
T{ 12345678 buf l!-le buf c@ buf l@-le -> 78 12345678 }T
T{ 1234 buf w!-le buf c@ buf w@-le -> 34 1234 }T
T{ 0102030405060708 buf x!-le buf c@ buf x@-le -> 08 0102030405060708 }T
T{ 11223344 buf 1+ l! buf 1+ l@ -> 11223344 }T
T{ -1 buf ! buf @ -> -1 }T
T{ 5 buf ! 3 buf +! buf @ -> 8 }T
T{ buf on buf @ buf off buf @ -> -1 0 }T
T{ 1 2 buf 2! buf 2@ -> 1 2 }T
T{ buf 10 41 fill buf c@ buf 9 + c@ -> 41 41 }T
T{ buf 10 erase buf c@ -> 0 }T
T{ buf 4 blank buf c@ -> 20 }T
T{ s" abcd" buf swap move buf c@ buf 3 + c@ -> 61 64 }T
T{ buf buf 1+ 3 move buf 1+ c@ buf 3 + c@ -> 61 63 }T
T{ s" abc" drop s" abd" drop 3 comp -> -1 }T
T{ s" abc" drop s" abc" drop 3 comp -> 0 }T
T{ 1234 wbflip 12345678 lbflip 12345678 lwflip -> 3412 78563412 56781234 }T
T{ 0102030405060708 xbflip -> 0807060504030201 }T
T{ 1234 wbsplit -> 34 12 }T
T{ 12345678 lwsplit -> 5678 1234 }T
T{ 12345678 lbsplit -> 78 56 34 12 }T
T{ 34 12 bwjoin 5678 1234 wljoin 78 56 34 12 bljoin -> 1234 12345678 12345678 }T
T{ 1 2 lxjoin 0000000200000001 xlsplit -> 0000000200000001 1 2 }T
T{ /c /w /l /x /n cell -> 1 2 4 8 8 8 }T
T{ 10 2 ca+ 10 2 wa+ 10 2 la+ 10 2 xa+ 10 2 na+ -> 12 14 18 20 20 }T
T{ 10 cell+ 10 char+ 3 cells -> 18 11 18 }T
T{ 5 aligned 8 aligned -> 8 8 }T
T{ 10 4 bounds -> 14 10 }T
testing data space
T{ here 10 allot here swap - -> 10 }T
T{ align here 7 and -> 0 }T
T{ here 5 , here swap - -> 8 }T
T{ here 1 c, 2 w, 3 l, 4 x, here swap - -> f }T
align
testing c, w, l, store big-endian and keep the low bytes; align pads to a cell
T{ here 1ff c, 12345 w, -1 l, here swap - -> 7 }T
T{ here 7 - c@ here 6 - w@ here 4 - l@ -> ff 2345 ffffffff }T
T{ here align here swap - -> 1 }T
T{ here align here swap - -> 0 }T
testing test-string: printable ASCII only (20..7e), true for an empty string
create t-str 41 c, 20 c, 7e c, 7f c, 1f c, 0 c, 80 c, align
T{ t-str 3 test-string t-str 0 test-string -> -1 -1 }T
T{ t-str 4 test-string t-str 4 + 1 test-string t-str 5 + 1 test-string t-str 6 + 1 test-string -> 0 0 0 0 }T
testing out of memory is -9, never a Python error
T{ -8 ' @ catch nip -> -9 }T
T{ 7fffffffffff ' @ catch nip -> -9 }T
T{ 1 -1 ' c! catch nip nip -> -9 }T
testing alloc-mem / free-mem
T{ 100 alloc-mem dup 0<> swap 100 free-mem -> -1 }T
T{ 0 alloc-mem -> 0 }T
T{ 40 alloc-mem dup 40 free-mem 40 alloc-mem = -> -1 }T
T{ 7fffffffff alloc-mem -> 0 }T
