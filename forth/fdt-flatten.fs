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

0 value fl-struct    0 value fl-struct-cap    0 value fl-sp     \ structure buffer, write pointer
0 value fl-strings   0 value fl-strings-cap   0 value fl-strp   \ strings buffer, write pointer
0 value fl-generation

\ ---- how big the buffers must be: an upper bound from one walk over the tree
: fl-estimate-node ( ph -- )
  dup node>name nip d# 80 + fl-struct-cap + to fl-struct-cap
  (property-wid) @ BEGIN ?dup WHILE
     dup link> execute nip d# 16 + fl-struct-cap + to fl-struct-cap
     dup link>name name>string nip 1+ fl-strings-cap + to fl-strings-cap
     @
  REPEAT ;

: fl-alloc ( n -- addr )  alloc-mem dup 0= ABORT" Out of memory while flattening the device tree" ;

\ ---- emitting into the structure buffer
: fl-l, ( u32 -- )  fl-sp l! fl-sp 4 + to fl-sp ;
: fl-bytes, ( addr len -- )  tuck fl-sp swap move fl-sp + to fl-sp ;
: fl-align ( -- )  fl-sp dup 3 + -4 and tuck over - erase to fl-sp ;

\ ---- the strings block: each name once, found through a wordlist of the names seen so far;
\ a name's word holds ( generation offset ) for the flatten that last stored it.
wordlist constant fl-names

: fl-append-string ( name len -- off )
  fl-strp fl-strings - >r
  tuck fl-strp swap move fl-strp + 0 over c! 1+ to fl-strp r> ;
: fl-new-name ( name len -- off )
  2dup fl-append-string >r
  get-current fl-names set-current -rot $create set-current
  fl-generation , r@ , r> ;
: fl-string ( name len -- off )
  2dup fl-names voc-find ?dup 0= IF fl-new-name EXIT THEN
  link> >body ( name len body )
  dup @ fl-generation = IF
     cell+ @ ( name len off ) dup fl-strings + zcount 4 pick 4 pick str= IF nip nip EXIT THEN
     drop fl-append-string EXIT       \ same name but for case: stored apart
  THEN
  >r fl-append-string fl-generation r@ ! dup r> cell+ ! ;

\ ---- nodes and properties
: fl-prop ( data len name nlen -- )
  fl-string >r OF_DT_PROP fl-l, dup fl-l, r> fl-l, fl-bytes, fl-align ;

: fl-skip-prop? ( name len -- flag )
  2dup s" name" str= >r 2dup s" phandle" str= >r s" linux,phandle" str= r> or r> or ;

: fl-node-begin ( ph -- )
  OF_DT_BEGIN_NODE fl-l,
  dup parent IF dup node>qname fl-bytes, THEN 0 fl-sp c! fl-sp 1+ to fl-sp fl-align
  OF_DT_PROP fl-l, 4 fl-l, s" phandle" fl-string fl-l, dup fl-l,
  (property-wid) @ BEGIN ?dup WHILE
     dup link>name name>string 2dup fl-skip-prop? IF 2drop ELSE
        2 pick link> execute 2swap fl-prop
     THEN @
  REPEAT ;

: fl-node-end ( -- )  OF_DT_END_NODE fl-l, ;

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
  d# 64 to fl-struct-cap  d# 64 to fl-strings-cap
  ['] fl-estimate-node over for-each-node
  fl-struct-cap fl-alloc dup to fl-struct to fl-sp
  fl-strings-cap fl-alloc dup to fl-strings to fl-strp
  fl-walk OF_DT_END fl-l,
  fl-assemble
  fl-struct fl-struct-cap free-mem  fl-strings fl-strings-cap free-mem ;

: fdt-flatten-tree-free ( dtb -- )  dup >fdth_tsize l@ free-mem ;
