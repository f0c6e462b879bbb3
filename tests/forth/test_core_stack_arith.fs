testing CORE: stack, arithmetic, comparison (the VM starts in hex; these tests use decimal)
decimal
T{ 1 2 swap -> 2 1 }T
T{ 1 2 over -> 1 2 1 }T
T{ 1 2 3 rot -> 2 3 1 }T
T{ 1 2 3 -rot -> 3 1 2 }T
T{ 1 2 nip -> 2 }T
T{ 1 2 tuck -> 2 1 2 }T
T{ 0 ?dup -> 0 }T
T{ 5 ?dup -> 5 5 }T
T{ 1 2 2dup -> 1 2 1 2 }T
T{ 1 2 3 4 2swap -> 3 4 1 2 }T
T{ 1 2 3 4 2over -> 1 2 3 4 1 2 }T
T{ 1 2 3 4 5 6 2rot -> 3 4 5 6 1 2 }T
T{ 1 2 3 3dup -> 1 2 3 1 2 3 }T
T{ 1 2 3 4 4dup -> 1 2 3 4 1 2 3 4 }T
T{ 1 2 3 3drop -> }T
T{ 10 20 30 2 pick -> 10 20 30 10 }T
T{ 10 20 30 2 roll -> 20 30 10 }T
T{ 10 20 30 2 -roll -> 30 10 20 }T
T{ 1 2 3 depth -> 1 2 3 3 }T
T{ 1 >r r@ r> -> 1 1 }T
T{ 1 2 2>r 2r@ 2r> -> 1 2 1 2 }T
T{ 3 4 + -> 7 }T
T{ 3 4 - -> -1 }T
T{ 6 7 * -> 42 }T
T{ 7 2 / -> 3 }T
T{ -7 2 / -> -4 }T
T{ -7 2 mod -> 1 }T
T{ 7 -2 /mod -> -1 -4 }T
T{ 7 2 u/mod -> 1 3 }T
T{ 2 3 4 */ -> 1 }T
T{ 5 7 3 */mod -> 2 11 }T
T{ 5 negate -> -5 }T
T{ -5 abs -> 5 }T
T{ 3 5 min 3 5 max -> 3 5 }T
T{ -1 1 umin -> 1 }T
T{ 1 2 + 1+ 1- 2+ 2- -> 3 }T
T{ 1 2* 8 2/ -8 2/ -> 2 4 -4 }T
T{ 1 3 lshift 16 2 rshift -> 8 4 }T
T{ -1 60 rshift -> 15 }T
T{ -16 2 >>a -> -4 }T
T{ 1 3 << 16 2 >> -> 8 4 }T
T{ 6 3 and 6 3 or 6 3 xor -> 2 7 5 }T
T{ 0 invert 0 not -> -1 -1 }T
T{ 3 even 4 even -> 4 4 }T
T{ 1 2 = 2 2 = 1 2 <> -> 0 -1 -1 }T
T{ 1 2 < 2 1 > -1 1 u< -1 1 u> -> -1 -1 0 -1 }T
T{ 1 1 <= 1 2 >= 2 2 u<= 1 2 u>= -> -1 0 -1 0 }T
T{ 0 0= 5 0= 5 0<> -5 0< 5 0> 0 0<= 0 0>= -> -1 0 -1 -1 -1 -1 -1 }T
T{ true false -> -1 0 }T
T{ 5 1 10 within 10 1 10 within 0 -1 1 within -> -1 0 -1 }T
T{ 5 1 10 between 10 1 10 between 11 1 10 between -> -1 -1 0 }T
testing 64-bit wrap-around and edge cases
T{ -1 1 + -> 0 }T
T{ 9223372036854775807 1 + -> -9223372036854775808 }T
T{ -9223372036854775808 1 - -> 9223372036854775807 }T
T{ -9223372036854775808 -1 / -> -9223372036854775808 }T
T{ -9223372036854775808 negate -> -9223372036854775808 }T
T{ 4294967296 4294967296 * -> 0 }T
T{ 1 63 lshift 0< -> -1 }T
T{ 1 64 lshift -> 0 }T
testing double cells
T{ 5 s>d -5 s>d -> 5 0 -5 -1 }T
T{ 3 4 m* -3 4 m* -> 12 0 -12 -1 }T
T{ -1 -1 um* -> 1 -2 }T
T{ 1 1 2 um/mod -> 1 -9223372036854775808 }T
T{ 10 0 3 um/mod -> 1 3 }T
T{ -7 s>d 2 sm/rem -7 s>d 2 fm/mod -> -1 -3 1 -4 }T
T{ 1 0 2 0 d+ 5 0 3 0 d- -> 3 0 2 0 }T
T{ -1 0 1 0 d+ -> 0 1 }T
T{ 5 0 dnegate -> -5 -1 }T
T{ -5 -1 dabs -> 5 0 }T
T{ 1 0 d2* -1 -1 d2/ -> 2 0 -1 -1 }T
T{ -1 0 1 m+ -> 0 1 }T
T{ 1 0 0 ' um/mod catch nip nip nip -> -10 }T
