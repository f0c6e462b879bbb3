\ fdt-import.fs -- unflattening a flattened device tree (the host's seed) into the OF tree.
\ fdt-unflatten ( fdt -- ) checks the header, then walks the structure block once: every
\ BEGIN_NODE is a new-device (the first one, named "", becomes the root "/"), every PROP a
\ property (text that is printable and NUL-terminated is encoded as a string, anything else
\ as bytes), every END_NODE gives nodes with #address-cells hex64 decode-unit/encode-unit
\ methods and a slof,from-fdt property, then finish-device. Units come from "reg", else
\ from the node name. Every read is checked against the blob's blocks: a malformed blob is one
\ error that names what is wrong and its offset in the blob, and nothing of the half-read
\ tree stays behind (the dictionary and the tree are put back as they were).
\ fdt-fix-phandles then replaces the host's phandles by node phandles (see below).

d00dfeed constant OF_DT_HEADER
1 constant OF_DT_BEGIN_NODE
2 constant OF_DT_END_NODE
3 constant OF_DT_PROP
4 constant OF_DT_NOP
9 constant OF_DT_END

struct
  4 field >fdth_magic
  4 field >fdth_tsize
  4 field >fdth_struct_off
  4 field >fdth_string_off
  4 field >fdth_rsvmap_off
  4 field >fdth_version
  4 field >fdth_compat_vers
  4 field >fdth_boot_cpu
  4 field >fdth_string_size
  4 field >fdth_struct_size
constant /fdth

0 value fdt-start-addr
0 value fdt-struct
0 value fdt-struct-end
0 value fdt-strings
0 value fdt-strings-end
0 value fdt-generation#

\ ---- errors: one line, with the offset in the blob
100 text-buffer fdt-error-text
: fdt-error+ ( str len -- )  fdt-error-text text+ ;
: fdt-error ( addr str len -- )  \ never returns
  fdt-error-text text-clear s" bad device tree blob: " fdt-error+ fdt-error+
  s"  at offset 0x" fdt-error+ fdt-start-addr - base @ >r hex (u.) r> base ! fdt-error+
  fdt-error-text text$ true -rot (abort") ;   \ the flag last: the compiler sees it is true

: fdt-init ( fdt -- )
  dup to fdt-start-addr
  dup >fdth_struct_off l@ over + to fdt-struct
  dup >fdth_string_off l@ over + to fdt-strings
  dup >fdth_string_size l@ fdt-strings + to fdt-strings-end
  dup >fdth_version l@ d# 17 >= IF dup >fdth_struct_size l@ fdt-struct + ELSE dup >fdth_tsize l@ over + THEN
  to fdt-struct-end drop ;

: fdt-check-header ( -- )
  fdt-start-addr >r
  r@ >fdth_magic l@ OF_DT_HEADER <> IF r> s" wrong magic (not d00dfeed)" fdt-error THEN
  r@ >fdth_version l@ 10 < IF r@ >fdth_version s" version below 16" fdt-error THEN
  r@ >fdth_tsize l@ /fdth < IF r@ >fdth_tsize s" totalsize smaller than the header" fdt-error THEN
  r@ >fdth_tsize l@ r@ + ( end )
  fdt-struct r@ /fdth + < IF r@ >fdth_struct_off s" structure block inside the header" fdt-error THEN
  fdt-struct 3 and IF r@ >fdth_struct_off s" structure block not 4-byte aligned" fdt-error THEN
  fdt-struct-end over > fdt-struct-end fdt-struct < or
     IF r@ >fdth_struct_size s" structure block runs past totalsize" fdt-error THEN
  fdt-strings r@ /fdth + < IF r@ >fdth_string_off s" strings block inside the header" fdt-error THEN
  fdt-strings-end over > fdt-strings-end fdt-strings < or
     IF r@ >fdth_string_size s" strings block runs past totalsize" fdt-error THEN
  drop r> drop ;

\ ---- reading the structure block
: fdt-tag ( addr -- addr' tag )  \ the next token, NOP or not
  dup 4 + dup fdt-struct-end > IF drop s" structure block ends inside a token" fdt-error THEN
  swap l@ ;
: fdt-next-tag ( addr -- addr' tag )  BEGIN fdt-tag dup OF_DT_NOP = WHILE drop REPEAT ;
: fdt-fetch-unit ( addr -- addr' name len )  \ the name runs to a NUL inside the block
  dup fdt-struct-end over - 0 max 0 scan 0= IF drop s" node name without its NUL" fdt-error THEN
  over - ( addr len ) 2dup + 4 + -4 and -rot ;
: fdt-fetch-string ( nameoff at -- str len )
  swap fdt-strings + dup fdt-strings-end >= IF drop s" property name offset outside the strings block" fdt-error THEN
  nip dup fdt-strings-end over - 0 scan 0= IF 2drop fdt-strings s" property name runs past the strings block" fdt-error THEN
  over - ;

: fdt-prop-is-string? ( addr len -- flag )  \ NUL-terminated, printable (20..7e) before it
  dup 0= IF 2drop false EXIT THEN
  2dup + 1- c@ IF 2drop false EXIT THEN
  1- test-string ;
: fdt-encode-prop ( addr len -- prop len )  \ a string keeps its NUL: what encode-string makes
  2dup fdt-prop-is-string? IF ['] .prop-string ELSE ['] .prop-bytes THEN
  \ a property of its own: its kind cell always (set-property follows), then the bytes,
  \ the room for both taken at once
  align here 2 pick cell+ allot ( addr len xt kind ) tuck ! cell+ ( addr len prop )
  swap 2dup 2>r move 2r> ;

\ (properties are read here with voc-find and link>2value: each step leaves the stack as deep
\ on every path, which lets the code generator keep the loops that call these in locals)
: fdt-cells-of ( ph -- n|0 )  \ its #address-cells, at most 4; 0 if it has none
  s" #address-cells" rot (property-wid) voc-find ?dup IF link>2value decode-int nip nip 4 min ELSE 0 THEN ;
: fdt-parent-cells ( -- n|0 )  \ #address-cells of the active node's parent, 0 if none
  get-node parent ?dup IF fdt-cells-of ELSE 0 THEN ;

\ The parent's properties all come before its children, so its #address-cells is looked up
\ once for the node being read (-1: not yet).
-1 value fdt-unit-cells
: fdt-unit-cells@ ( -- n|0 )
  fdt-unit-cells dup 0< IF drop fdt-parent-cells dup to fdt-unit-cells THEN ;

\ A "reg" long enough sets every cell of the unit, so the unit the name gives is decoded only
\ when the node's properties are all read (its first child or its end) and none did.
0 value fdt-unit$   0 value fdt-unit#   \ the text after "@" still to decode, 0 0 if none
: fdt-name-unit ( -- )
  fdt-unit# 0= IF EXIT THEN
  fdt-unit$ fdt-unit# 0 to fdt-unit#
  fdt-unit-cells@ dup 0= IF drop 2drop EXIT THEN
  dup >r hex-decode-unit r> (set-unit) ;
: fdt-reg-unit ( prop len -- )  \ its first cells, what (set-unit) would store, stored here
  fdt-unit-cells@ dup 0= IF drop 2drop EXIT THEN ( prop len n )
  tuck 4 * < IF 2drop EXIT THEN ( prop n )
  over l@ set-space                               \ the first cell: phys.hi
  1- 3 min 0 max get-node node>addr1 swap 0 ?DO   \ the next ones: the further unit cells
     over i 1+ 4 * + l@ over ! cell+
  LOOP 2drop 0 to fdt-unit# ;

: fdt-create-dec ( n -- )  s" decode-unit" $create , DOES> @ hex64-decode-unit ;
: fdt-create-enc ( n -- )  s" encode-unit" $create , DOES> @ hex64-encode-unit ;
: fdt-update-from-fdt ( -- )  fdt-generation# encode-int s" slof,from-fdt" property ;

: fdt-finish-node ( -- )
  s" #address-cells" get-node (property-wid) voc-find ?dup IF
     link>2value decode-int nip nip dup fdt-create-dec fdt-create-enc
  THEN
  fdt-update-from-fdt finish-device ;

0 value fdt-depth

: fdt-begin-node ( addr -- addr' )
  fdt-name-unit
  new-device fdt-depth 1+ to fdt-depth -1 to fdt-unit-cells
  fdt-fetch-unit ( addr' name len )
  fdt-depth 1 = IF dup IF drop s" root node has a name" fdt-error THEN 2drop s" /" device-name EXIT THEN
  dup 0= IF 2drop s" node without a name" fdt-error THEN
  [char] @ left-parse-string device-name to fdt-unit# to fdt-unit$ ;

: fdt-prop ( addr -- addr' )  \ addr: the length cell after the PROP token
  dup 8 + dup fdt-struct-end > IF drop s" structure block ends inside a token" fdt-error THEN
  ( addr data ) over 4 + l@ 2 pick fdt-fetch-string ( addr data name nlen )
  dup 0= IF 2drop drop s" property with an empty name" fdt-error THEN
  2dup s" reg" str= >r 2>r
  swap l@ ( data len ) 2dup + dup fdt-struct-end > IF 2drop s" property value runs past the structure block" fdt-error THEN
  3 + -4 and -rot ( addr' data len )
  fdt-encode-prop 2r> current-node @ set-property   \ property, on the node being read
  r> IF s" reg" current-node @ (property-wid) voc-find ?dup IF link>2value fdt-reg-unit THEN THEN ;

: fdt-props ( addr -- addr' tag )  \ the properties right after a BEGIN_NODE; the next tag
  BEGIN fdt-tag   \ (NOPs skipped here too: fdt-tag is inlined where fdt-next-tag's loop is not)
     dup OF_DT_PROP = IF drop fdt-prop OF_DT_NOP THEN   \ a property read counts as a NOP
  dup OF_DT_NOP = WHILE drop REPEAT ;

: fdt-walk ( addr -- addr' )  \ from the root's BEGIN_NODE to after its END_NODE
  0 to fdt-depth 0 to fdt-unit#
  fdt-next-tag OF_DT_BEGIN_NODE <> IF 4 - s" structure block does not start with a node" fdt-error THEN
  fdt-begin-node fdt-props
  BEGIN ( addr tag )
     CASE
        OF_DT_BEGIN_NODE OF fdt-begin-node fdt-props ENDOF
        OF_DT_END_NODE OF
           fdt-name-unit fdt-finish-node fdt-depth 1- dup to fdt-depth 0= IF EXIT THEN fdt-next-tag
        ENDOF
        \ a node's properties were all read by fdt-props: this one follows a subnode
        OF_DT_PROP OF 4 - s" property after a subnode" fdt-error ENDOF
        OF_DT_END OF 4 - s" END before all nodes were closed" fdt-error ENDOF
        drop 4 - s" unknown token" fdt-error 0
     ENDCASE
  AGAIN ;

: fdt-unflatten-tree ( -- )
  device-end 0 to my-self
  fdt-struct fdt-walk
  fdt-next-tag OF_DT_END <> IF 4 - s" expected END after the root node" fdt-error THEN drop ;

\ ---- phandles: the host's values become node addresses, in two walks over the tree (after
\ counting the nodes, which sizes the table). The first puts every node that has a
\ "phandle" (or "linux,phandle") property into a hash table keyed by that value; the second
\ rewrites every reference in the properties that hold phandles, and takes the node's old
\ phandle properties away: the flattened tree gives every node its own phandle (its
\ address). A host phandle nothing referred to is dropped as well, so a node never ends up
\ with two phandle properties; nothing else in the tree could be using it.

0 value ph-table       \ pairs ( host-value node ), 2^k slots
0 value ph-slots
: ph-slot ( value -- addr )  \ the slot holding value, or the empty one where it goes
  dup 9e3779b1 * 10 rshift ph-slots 1- and ( value idx )
  BEGIN
     dup 2 cells * ph-table + ( value idx slot )
     dup cell+ @ 0= IF nip nip EXIT THEN
     dup @ 3 pick = IF nip nip EXIT THEN
     drop 1+ ph-slots 1- and
  AGAIN ;
: ph-lookup ( value -- node|0 )  ph-table 0= IF drop 0 EXIT THEN ph-slot cell+ @ ;
: ph-insert ( value node -- )  over ph-slot tuck cell+ ! ! ;
0 value ph-count       \ the nodes: the table has at least twice as many slots
: ph-alloc ( slots -- )  \ a new, empty table
  dup to ph-slots 2 cells * dup alloc-mem dup 0= ABORT" Out of memory for the phandle table"
  dup to ph-table swap erase ;
: ph-free ( -- )  ph-table ph-slots 2 cells * free-mem 0 to ph-table ;

: for-each-node ( xt ph -- )  \ xt ( ph -- ), every node from ph down, without recursion
  swap >r dup BEGIN ( top ph ) dup WHILE
     dup r@ execute
     dup child ?dup IF nip ELSE
        BEGIN 2dup <> over node>peer @ 0= and WHILE parent REPEAT
        2dup = IF drop 0 ELSE node>peer @ THEN
     THEN
  REPEAT 2drop r> drop ;

: ph-value ( ph -- value true | false )  \ its "phandle", else its "linux,phandle"
  (property-wid) >r s" phandle" r@ voc-find ?dup 0= IF s" linux,phandle" r@ voc-find THEN
  r> drop ?dup IF link>2value 4 < IF drop false ELSE l@ true THEN ELSE false THEN ;
: ph-count-node ( ph -- )  drop ph-count 1+ to ph-count ;   \ the table has room for every node
: ph-collect-node ( ph -- )  dup ph-value IF swap ph-insert ELSE drop THEN ;

: ph-patch-cell ( addr -- )  dup l@ ph-lookup ?dup IF swap l! ELSE drop THEN ;
: ph-patch-cells ( prop len -- )  -4 and bounds ?DO i ph-patch-cell 4 +LOOP ;
: ph-patch-interrupt-map ( prop len -- )
  BEGIN dup 1c >= WHILE over 10 + ph-patch-cell 1c /string REPEAT 2drop ;
: ph-patch-node ( ph -- )  \ each property found: its value patched (link>2value: data len)
  (property-wid) >r
  s" interrupt-map" r@ voc-find ?dup IF link>2value ph-patch-interrupt-map THEN
  s" interrupt-parent" r@ voc-find ?dup IF link>2value ph-patch-cells THEN
  s" ibm,gpu" r@ voc-find ?dup IF link>2value ph-patch-cells THEN
  s" ibm,npu" r@ voc-find ?dup IF link>2value ph-patch-cells THEN
  s" ibm,nvlink" r@ voc-find ?dup IF link>2value ph-patch-cells THEN
  s" memory-region" r@ voc-find ?dup IF link>2value ph-patch-cells THEN
  r> drop ;
: ph-drop-node ( ph -- )
  (property-wid) >r
  s" phandle" r@ voc-find ?dup IF r@ (prune) THEN
  s" linux,phandle" r@ voc-find ?dup IF r@ (prune) THEN
  r> drop ;
: ph-fix-node ( ph -- )  dup ph-patch-node ph-drop-node ;

: fdt-fix-phandles ( ph -- )
  0 to ph-count ['] ph-count-node over for-each-node
  8 BEGIN dup ph-count 2* < WHILE 2* REPEAT ph-alloc
  ['] ph-collect-node over for-each-node
  ['] ph-fix-node swap for-each-node
  ph-free ;

\ ---- the whole import, undone on error
: (discard-template) ( ph -- )
  dup node>instance-template @ ?dup IF swap node>instance-size @ template-block free-mem ELSE drop THEN ;

: (fdt-unflatten) ( fdt -- )
  fdt-init fdt-check-header fdt-unflatten-tree
  device-tree @ fdt-fix-phandles ;

: fdt-unflatten ( fdt -- )
  device-tree @ ABORT" A device tree exists already"
  s" marker fdt-import-undo" evaluate
  ['] (fdt-unflatten) catch ?dup IF
     device-tree @ ?dup IF ['] (discard-template) swap for-each-node THEN
     0 device-tree ! 0 current-node ! 0 to my-self
     s" fdt-import-undo" evaluate
     throw
  THEN
  device-end 0 to my-self
  s" fdt-import-undo" forth-wordlist voc-find ?dup IF forth-wordlist (prune) THEN ;
