\ pci-phb.fs -- PAPR PCI host bridges: every root node with device_type "pci" gets SLOF's
\ PCI unit form ("dev" or "dev,fn" in hex, from phys.hi), configuration access through the
\ RTAS ibm,read/write-pci-config calls with the bridge's BUID (the first "reg" address),
\ and its children (QEMU lists them in the seed) get their BARs sized and assigned from the
\ bridge's "ranges" windows, recorded in "assigned-addresses", as SLOF's PCI setup does.

\ ---- units: phys.hi = bus<<16 | dev<<11 | fn<<8 | register
: pci-decode-unit ( str len -- phys.lo phys.mid phys.hi )
  base @ >r hex
  [char] , left-parse-string $number IF 0 THEN ( fstr flen dev )
  -rot $number IF 0 THEN ( dev fn )
  r> base !
  7 and 8 lshift swap 1f and b lshift or 0 0 rot ;
: pci-encode-unit ( phys.lo phys.mid phys.hi -- str len )
  nip nip dup 8 rshift 7 and swap b rshift 1f and ( fn dev )
  over IF 2 hex-encode-unit ELSE nip 1 hex-encode-unit THEN ;

\ ---- the bridge being set up
0 value phb-node
0 value phb-buid
: phb-config-addr ( phys.hi -- config-addr )  ffff00 and ;
: phb-config@ ( phys.hi reg size -- value )  >r swap phb-config-addr or phb-buid r> rtas-config@ ;
: phb-config! ( value phys.hi reg size -- )  >r swap phb-config-addr or phb-buid r> rtas-config! ;

\ the windows for I/O, 32-bit and 64-bit memory, and where the next BAR goes in each
0 value io-next     0 value io-end
0 value mem32-next  0 value mem32-end
0 value mem64-next  0 value mem64-end

: phb-parse-ranges ( -- )  \ child phys (3 cells), parent address (2), size (2)
  0 to io-end 0 to mem32-end 0 to mem64-end
  s" ranges" phb-node get-property IF EXIT THEN
  BEGIN dup d# 28 >= WHILE
     over l@ 18 rshift 3 and ( prop len space )
     2 pick 4 + @ ( address: mid:lo as one cell ) 3 pick d# 20 + @ ( size ) over + ( space base end )
     rot CASE
        1 OF to io-end to io-next ENDOF
        2 OF to mem32-end to mem32-next ENDOF
        3 OF to mem64-end to mem64-next ENDOF
        >r 2drop r>
     ENDCASE
     d# 28 /string
  REPEAT 2drop ;

: align-up ( addr size -- addr' )  1- tuck + swap invert and ;
: bar-take ( size next-value -- addr )  \ addr aligned to size; never address 0
  over align-up dup 0= IF drop ELSE nip THEN ;

\ ---- sizing and assigning one BAR
0 value bar-phys      \ phys.hi of the function
0 value bar-reg       \ the BAR's config register
create assigned 100 allot  0 value assigned-len
: assigned, ( x -- )  assigned assigned-len + l! assigned-len 4 + to assigned-len ;

: bar@ ( -- value )  bar-phys bar-reg 4 phb-config@ ;
: bar! ( value -- )  bar-phys bar-reg 4 phb-config! ;
: bar-hi! ( value -- )  bar-phys bar-reg 4 + 4 phb-config! ;
: bar-hi@ ( -- value )  bar-phys bar-reg 4 + 4 phb-config@ ;

: record-bar ( flags addr size -- )  \ one assigned-addresses entry
  >r >r bar-phys ffff00 and bar-reg or or 80000000 or assigned,
  r> xlsplit assigned, assigned, r> xlsplit assigned, assigned, ;

: assign-io-bar ( -- )
  ffffffff bar! bar@ fffffffc and invert ffff and 1+ ( size ) >r
  r@ io-next bar-take dup r@ + to io-next dup bar!
  01000000 swap r> record-bar ;
: assign-mem32-bar ( prefetch? -- )
  ffffffff bar! bar@ fffffff0 and invert ffffffff and 1+ ( p size ) >r
  r@ mem32-next bar-take dup r@ + to mem32-next dup bar!
  swap IF 42000000 ELSE 02000000 THEN swap r> record-bar ;
: assign-mem64-bar ( prefetch? -- )  \ the 64-bit window is the prefetchable one
  ffffffff bar! ffffffff bar-hi! bar@ fffffff0 and bar-hi@ lxjoin invert 1+ ( p size ) >r
  mem64-end IF drop true r@ mem64-next bar-take dup r@ + to mem64-next
  ELSE r@ mem32-next bar-take dup r@ + to mem32-next THEN
  dup xlsplit bar-hi! bar!
  swap IF 43000000 ELSE 03000000 THEN swap r> record-bar ;

: assign-bar ( -- next-reg )  \ the BAR at bar-reg; returns the register after it
  bar@ ( original ) >r
  ffffffff bar! bar@ 0= IF r> bar! bar-reg 4 + EXIT THEN r> drop
  bar@ 1 and IF assign-io-bar bar-reg 4 + EXIT THEN
  bar@ 6 and 4 = IF bar@ 8 and 0<> assign-mem64-bar bar-reg 8 + EXIT THEN
  bar@ 8 and 0<> assign-mem32-bar bar-reg 4 + ;

: pci-setup-function ( ph -- )  \ BARs of one function, then what SLOF sets on it
  dup >space to bar-phys
  0 to assigned-len
  10 BEGIN dup 28 < WHILE to bar-reg assign-bar REPEAT drop
  dup set-node
  assigned-len IF assigned assigned-len encode-bytes s" assigned-addresses" property THEN
  \ the MSI/MSI-X vector counts are set again, as SLOF's capability scan does
  s" ibm,req#msi" get-node get-property 0= IF encode-bytes s" ibm,req#msi" property THEN
  s" ibm,req#msi-x" get-node get-property 0= IF encode-bytes s" ibm,req#msi-x" property THEN
  drop ;

\ ---- aliases for what SLOF recognises by class code
: pci-class ( ph -- class )  s" class-code" rot get-property IF 0 ELSE decode-int nip nip THEN ;
: pci-alias ( ph -- )
  dup pci-class 10 rshift CASE
     2 OF s" net" ENDOF
     1 OF s" disk" ENDOF
     >r 0 0 r>
  ENDCASE dup 0= IF 2drop drop EXIT THEN
  get-next-alias ?dup 0= IF drop EXIT THEN rot node>path set-alias ;

: phb-methods ( -- )  \ on the active bridge node
  s" : decode-unit ( str len -- phys.lo phys.mid phys.hi ) pci-decode-unit ;" evaluate
  s" : encode-unit ( phys.lo phys.mid phys.hi -- str len ) pci-encode-unit ;" evaluate
  s" : open ( -- true ) true ;" evaluate
  s" : close ( -- ) ;" evaluate ;

: setup-phb ( ph -- )
  dup to phb-node dup set-node phb-methods
  s" reg" phb-node get-property IF 0 ELSE drop @ THEN to phb-buid
  phb-parse-ranges
  phb-node child BEGIN ?dup WHILE
     dup pci-setup-function dup pci-alias node>peer @
  REPEAT ;

: pci-bridge? ( ph -- flag )
  s" device_type" rot get-property IF false ELSE 1- 0 max s" pci" str= THEN ;

: populate-pci-busses ( -- )
  current-node @ >r
  device-tree @ child BEGIN ?dup WHILE
     dup pci-bridge? IF dup setup-phb THEN node>peer @
  REPEAT r> set-node ;
