\ fdt-flatten.fs -- flattening the OF tree into a device tree blob, laid out as SLOF's
\ fdt-fl.fs does it: header, one empty memory reserve entry at 0x28, the strings block at
\ 0x38, then the structure block; version 17, last compatible version 16, boot_cpuid_phys
\ from boot-cpuid. The root is named "", every other node "name@unit" (node>qname, so units
\ are the parent's encode-unit text). Each node starts with a phandle property holding its
\ own phandle, then its properties newest first, without "name" (and without any old
\ "phandle"/"linux,phandle", so a node never has two). Unlike SLOF, which repeats most
\ names, every property name is stored once in the strings block.
\ fdt-flatten-tree ( -- dtb ) returns an alloc-mem'd blob; fdt-flatten-tree-free ( dtb -- )
\ gives it back.

defer boot-cpuid ( -- n )  ' false to boot-cpuid   \ the board says which CPU booted

0 value fl-struct    0 value fl-struct-end    0 value fl-sp    \ structure buffer, its end, write pointer
0 value fl-strings   0 value fl-strings-end   0 value fl-strp  \ strings buffer, its end, write pointer
0 value fl-generation
0 value fl-phandle-off   \ where "phandle" is in the strings block

: fl-alloc ( n -- addr )  alloc-mem dup 0= ABORT" Out of memory while flattening the device tree" ;

\ ---- the buffers start small and, when a write would not fit, move to a block twice the
\ size they then need, so the whole flatten copies each byte a bounded number of times. The
\ structure buffer is zero beyond fl-sp, so the NUL and padding after a text need no stores.
0 value fl-old   0 value fl-old-size
: fl-regrow ( buf size used need -- buf' size' )  \ the used bytes in a new block; the old one freed
  over + 2* >r
  rot to fl-old swap to fl-old-size ( used )
  r@ fl-alloc ( used new ) fl-old over 3 pick move
  2dup + r@ 3 pick - erase nip                   \ the rest zero
  fl-old fl-old-size free-mem r> ;
: fl-grow-struct ( n -- )
  fl-sp fl-struct - >r
  fl-struct fl-struct-end fl-struct - r@ 3 roll fl-regrow
  over + to fl-struct-end dup to fl-struct r> + to fl-sp ;
: fl-room ( n -- )  \ n more bytes must fit in the structure buffer
  dup fl-sp + fl-struct-end > IF fl-grow-struct ELSE drop THEN ;
: fl-grow-strings ( n -- )
  fl-strp fl-strings - >r
  fl-strings fl-strings-end fl-strings - r@ 3 roll fl-regrow
  over + to fl-strings-end dup to fl-strings r> + to fl-strp ;

\ ---- emitting into the structure buffer (fl-room first)
: fl-l, ( u32 -- )  fl-sp tuck l! 4 + to fl-sp ;

\ ---- the strings block: each name once, found through a wordlist of the names seen so far;
\ a name's word is a 2constant ( generation offset ) for the flatten that last stored it (it
\ runs inline in generated code; fl-renew updates its body when a new flatten stores it).
wordlist constant fl-names

: fl-append-string ( name len -- off )
  dup 1+ fl-strp + fl-strings-end > IF dup 1+ fl-grow-strings THEN
  fl-strp fl-strings - >r
  tuck fl-strp swap move fl-strp + 0 over c! 1+ to fl-strp r> ;
\ (how deep each of these leaves the stack is plain from its code, so the code generator
\ can keep fl-string's items in locals across the rare calls below)
: fl-generation-for ( name len -- gen )  \ a name with a NUL in it is never found again
  0 scan nip IF 0 ELSE fl-generation THEN ;
: fl-new-name ( name len -- off )
  2dup fl-append-string dup >r ( name len off )
  get-current >r fl-names set-current
  >r 2dup fl-generation-for r> 2swap $2constant
  r> set-current r> ;
: fl-renew ( name len -- off )  \ a name stored by an earlier flatten
  2dup fl-append-string >r 2dup fl-generation-for -rot fl-names voc-find link> cell+
  tuck ! r@ swap cell+ ! r> ;
: fl-name-stored ( name len how -- name len off )  \ how: -1 a new name, -2 one to renew
  -1 = IF 2dup fl-new-name ELSE 2dup fl-renew THEN ;
: fl-string ( name len -- off )
  2dup fl-names voc-find dup IF
     link>2value swap fl-generation <> IF drop -2 THEN
  ELSE drop -1 THEN ( name len off|-1|-2 )
  dup 0< IF fl-name-stored THEN
  >r 2dup r@ fl-strings + over str= r> swap ( name len off same? )
  0= IF drop 2dup fl-append-string THEN      \ same name but for case: stored apart
  nip nip ;
\ (the old zcount-and-compare test, as SLOF's strings are NUL-terminated: a name with a NUL
\ in it never matched; fl-generation-for keeps it that way)

\ ---- nodes and properties
\ A token and what follows it are written at fl-sp in one go (fl-sp stays 4-byte aligned
\ between them); the room asked for covers the padding. The room check is spelled out where
\ it is needed: inlined that way it costs the least. PROP and the length are one x! store.
: fl-prop ( data len off -- )
  over fl-sp + d# 16 + fl-struct-end > IF over d# 16 + fl-grow-struct THEN
  fl-sp tuck 8 + l! over [ OF_DT_PROP d# 32 lshift ] literal + over x! ( data len p )
  c + 2dup + 3 + -4 and to fl-sp swap move ;

: fl-skip-prop? ( name len -- flag )  \ "name", "phandle" or "linux,phandle"
  dup 4 = IF s" name" str= EXIT THEN
  dup 7 = IF s" phandle" str= EXIT THEN
  dup d# 13 = IF s" linux,phandle" str= EXIT THEN
  2drop false ;

: fl-text, ( str len -- )  fl-sp 2dup + to fl-sp swap move ;   \ the room asked for

\ BEGIN_NODE and the name node>qname gives ("name@unit"), written straight into the structure
\ buffer rather than through qname-text; a name too long for qname-text fails as node>qname
\ does (its text+ aborts). Only ( ph ) is on the stack while encode-unit runs, as there.
: fl-qname-full ( unit ulen name len -- )
  qname-text text-clear qname-text text+ s" @" qname-text text+ qname-text text+ ;
0 value fl-name#
: fl-node-name ( ph -- )
  dup node>name ( ph name len )
  dup qname-text @ > IF qname-text text-clear qname-text text+ THEN
  dup to fl-name# fl-sp over + d# 24 + fl-struct-end > IF dup d# 24 + fl-grow-struct THEN
  fl-sp OF_DT_BEGIN_NODE over l! 4 + to fl-sp fl-text, ( ph )
  node-unit-text IF ( unit ulen )
     fl-name# over + 1+ qname-text @ > IF fl-sp fl-name# - fl-name# fl-qname-full EXIT THEN
     fl-sp over + d# 24 + fl-struct-end > IF dup d# 24 + fl-grow-struct THEN
     [char] @ fl-sp c! fl-sp 1+ to fl-sp fl-text,
  THEN ;

: fl-node-begin ( ph -- )
  dup parent IF dup fl-node-name ELSE d# 24 fl-room OF_DT_BEGIN_NODE fl-l, THEN
  fl-sp 4 + -4 and ( ph p )                       \ past the name's NUL and padding
  [ OF_DT_PROP d# 32 lshift 4 + ] literal over x! fl-phandle-off over 8 + l!
  2dup c + l! 10 + to fl-sp ( ph )
  (property-wid) cell+ @ BEGIN dup WHILE
     dup link>name name>string 2dup fl-skip-prop? IF 2drop ELSE
        fl-string >r dup link>2value r> fl-prop
     THEN @
  REPEAT drop ;

: fl-node-end ( -- )
  fl-sp 4 + fl-struct-end > IF 4 fl-grow-struct THEN OF_DT_END_NODE fl-l, ;

: fl-walk ( root -- )  \ every node in order, each closed after its children
  dup BEGIN ( top ph )
     dup fl-node-begin
     dup child ?dup IF nip ELSE
        BEGIN fl-node-end 2dup <> over node>peer @ 0= and WHILE parent REPEAT
        2dup = IF drop 0 ELSE node>peer @ THEN
     THEN
  dup 0= UNTIL 2drop ;

\ ---- the blob
0 value fl-strings-len
0 value fl-struct-len
0 value fl-blob

: fl-assemble ( -- dtb )
  fl-strp fl-strings - to fl-strings-len
  fl-sp fl-struct - to fl-struct-len
  fl-strings-len 3 + -4 and >r                      \ r: the strings block, padded
  r@ fl-struct-len + /fdth + 10 + dup fl-alloc to fl-blob
  fl-blob >fdth_tsize l!
  OF_DT_HEADER fl-blob >fdth_magic l!
  /fdth 10 + r@ + fl-blob >fdth_struct_off l!
  /fdth 10 + fl-blob >fdth_string_off l!
  /fdth fl-blob >fdth_rsvmap_off l!
  d# 17 fl-blob >fdth_version l!
  d# 16 fl-blob >fdth_compat_vers l!
  boot-cpuid fl-blob >fdth_boot_cpu l!
  r@ fl-blob >fdth_string_size l!
  fl-struct-len fl-blob >fdth_struct_size l!
  fl-blob /fdth + 10 erase
  fl-strings fl-blob /fdth + 10 + dup >r fl-strings-len move
  r> fl-strings-len + r@ fl-strings-len - erase
  fl-struct fl-blob /fdth + 10 + r> + fl-struct-len move
  fl-blob ;

: fdt-flatten-tree ( -- dtb )
  device-tree @ dup 0= ABORT" No device tree to flatten"
  fl-generation 1+ to fl-generation
  10000 dup fl-alloc 2dup swap erase dup to fl-struct dup to fl-sp + to fl-struct-end
  1000 dup fl-alloc dup to fl-strings dup to fl-strp + to fl-strings-end
  s" phandle" fl-string to fl-phandle-off       \ the first name, as the root's first property
  fl-walk 4 fl-room OF_DT_END fl-l,
  fl-assemble
  fl-struct fl-struct-end over - free-mem  fl-strings fl-strings-end over - free-mem ;

: fdt-flatten-tree-free ( dtb -- )  dup >fdth_tsize l@ free-mem ;
