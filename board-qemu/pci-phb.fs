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

: my-puid ( -- buid )  \ the BUID of the host bridge at or above the running package
  (my-phandle) BEGIN dup parent dup device-tree @ <> over 0<> and WHILE nip REPEAT drop
  s" reg" rot get-property IF 0 ELSE drop @ THEN ;

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
\ Memory BARs and ROMs are placed in 64 KiB units (the page size), I/O BARs by their size.
10000 constant /mmio-unit
: mmio-size ( size -- size' )  /mmio-unit max ;

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
  r@ mmio-size mem32-next bar-take dup r@ mmio-size + to mem32-next dup bar!
  swap IF 42000000 ELSE 02000000 THEN swap r> record-bar ;
: assign-mem64-bar ( prefetch? -- )  \ the 64-bit window takes prefetchable BARs only
  ffffffff bar! ffffffff bar-hi! bar@ fffffff0 and bar-hi@ lxjoin invert 1+ ( p size ) >r
  dup mem64-end and IF
     drop r@ mmio-size mem64-next bar-take dup r@ mmio-size + to mem64-next
     dup xlsplit bar-hi! bar! 43000000
  ELSE
     r@ mmio-size mem32-next bar-take dup r@ mmio-size + to mem32-next
     dup xlsplit bar-hi! bar! swap IF 42000000 ELSE 02000000 THEN
  THEN swap r> record-bar ;

: assign-rom ( -- )  \ the expansion ROM at 30, from the 32-bit window
  30 to bar-reg
  bar@ >r fffff800 bar! bar@ fffff800 and dup 0= IF drop r> bar! EXIT THEN r> drop
  invert ffffffff and 1+ ( size ) >r
  r@ mmio-size mem32-next bar-take dup r@ mmio-size + to mem32-next dup bar!
  02000000 swap r> record-bar ;

: assign-bar ( -- next-reg )  \ the BAR at bar-reg; returns the register after it
  bar@ ( original ) >r
  ffffffff bar! bar@ 0= IF r> bar! bar-reg 4 + EXIT THEN r> drop
  bar@ 1 and IF assign-io-bar bar-reg 4 + EXIT THEN
  bar@ 6 and 4 = IF bar@ 8 and 0<> assign-mem64-bar bar-reg 8 + EXIT THEN
  bar@ 8 and 0<> assign-mem32-bar bar-reg 4 + ;

: pci-class ( ph -- class )  s" class-code" rot get-property IF 0 ELSE decode-int nip nip THEN ;

\ ---- what SLOF's drivers set on the devices they know, by vendor and device ID or class
\ (SLOF's pci-device_VVVV_DDDD.fs and pci-class_CC.fs files; only what they set without
\ talking to the device). Each also says which alias pci-alias makes for the function:
0 value pci-alias-kind  \ 0 none, 1 net, 2 disk (next free), 3 netN (no driver), 4 usbN,
                        \ 5 vsterm, 7 screen (when there is none yet), 6 virtfs
0 value pci-net-num     \ NICs SLOF has no driver for: net0, net1 ...
0 value usb-alias-num   \ USB host controllers: usb0, usb1 ...

: pci-id ( -- vendor device )
  s" vendor-id" get-node get-property IF 0 ELSE decode-int nip nip THEN
  s" device-id" get-node get-property IF 0 ELSE decode-int nip nip THEN ;
: int-prop ( n name len -- )  rot encode-int 2swap property ;
: scsi-host ( -- )  2 s" #address-cells" int-prop 0 s" #size-cells" int-prop ;
: usb-host ( type len -- )
  device-type 1 s" #address-cells" int-prop 0 s" #size-cells" int-prop 4 to pci-alias-kind ;
: display-props ( -- )  \ SLOF's VGA drivers: an 800x600 screen, 32 bits a pixel
  d# 800 s" width" int-prop  d# 600 s" height" int-prop  d# 3200 s" linebytes" int-prop
  d# 32 s" depth" int-prop  s" ISO8859-1" encode-string s" character-set" property
  s" display" device-type 7 to pci-alias-kind ;
: legacy-vga, ( prop len space addr size -- prop len )  \ one reg entry of the VGA ranges
  >r >r get-node >space ffff00 and or encode-int+ 0 encode-int+ r> encode-int+
  0 encode-int+ r> encode-int+ ;
: cirrus-reg ( -- )  \ Cirrus: the legacy VGA I/O ports and frame buffer added to "reg"
  s" reg" get-node get-property IF EXIT THEN encode-bytes
  a1000000 1ce 4 legacy-vga,  a1000000 3b0 c legacy-vga,  a1000000 3c0 20 legacy-vga,
  a2000000 a0000 20000 legacy-vga,  s" reg" property ;
: virtio-driver ( device -- )
  CASE
     1000 OF s" network" device-type 1 to pci-alias-kind ENDOF
     1041 OF s" network" device-type 1 to pci-alias-kind ENDOF
     1001 OF s" block" device-type 2 to pci-alias-kind ENDOF
     1042 OF s" block" device-type 2 to pci-alias-kind ENDOF
     1003 OF s" serial" device-type 5 to pci-alias-kind ENDOF
     1043 OF s" serial" device-type 5 to pci-alias-kind ENDOF
     1004 OF scsi-host ENDOF
     1048 OF scsi-host ENDOF
     1009 OF s" virtio-9p" device-name s" network" device-type 6 to pci-alias-kind ENDOF
     1049 OF s" virtio-9p" device-name s" network" device-type 6 to pci-alias-kind ENDOF
  ENDCASE ;
: pci-driver ( -- )  \ on the active function node
  0 to pci-alias-kind
  pci-id over 1af4 = IF nip virtio-driver EXIT THEN
  2dup 8086 100e d= IF 2drop s" network" device-type 1 to pci-alias-kind EXIT THEN
  2dup 1234 1111 d= IF 2drop display-props s" qemu,std-vga" compatible EXIT THEN
  2dup 1013 b8 d= IF 2drop cirrus-reg display-props EXIT THEN
  2drop
  get-node pci-class dup 10 rshift 2 = IF drop s" network" device-type 3 to pci-alias-kind EXIT THEN
  CASE
     0c0330 OF s" xhci" usb-host ENDOF
     0c0320 OF s" ehci" usb-host ENDOF
     0c0310 OF s" ohci" usb-host ENDOF
  ENDCASE ;

: bars-end ( ph -- reg )  \ past the last BAR: a bridge's (type-1) header has two
  pci-class ffff00 and 060400 = IF 18 ELSE 28 THEN ;
: pci-function-bars ( ph -- )  \ BARs of one function, then what SLOF sets on it
  dup >space to bar-phys
  0 to assigned-len
  dup bars-end >r 10 BEGIN dup r@ < WHILE to bar-reg assign-bar REPEAT drop r> drop
  assigned-len >r assign-rom
  dup set-node
  \ the ROM's entry (if it has one) comes first, then the BARs in order
  assigned-len r@ > IF
     assigned r@ + assigned-len r@ - encode-bytes assigned r@ encode-bytes encode+
  ELSE assigned assigned-len encode-bytes THEN r> drop
  dup IF s" assigned-addresses" property ELSE 2drop THEN
  \ the MSI/MSI-X vector counts are set again, as SLOF's capability scan does
  s" ibm,req#msi" get-node get-property 0= IF encode-bytes s" ibm,req#msi" property THEN
  s" ibm,req#msi-x" get-node get-property 0= IF encode-bytes s" ibm,req#msi-x" property THEN
  pci-driver drop ;

\ ---- aliases, as SLOF's drivers and its generic PCI setup make them
create pci-alias-text d# 40 allot
: numbered-alias ( str len n -- str' len' )  \ "net" 0 -> "net0" (the number in hex)
  base @ >r hex (u.) r> base !
  2swap dup >r pci-alias-text swap move
  pci-alias-text r@ + swap dup >r move
  pci-alias-text r> r> + ;
: alias-to ( alias len ph -- )  node>path set-alias ;
: next-alias-to ( alias len ph -- )  \ "net", else "net1", "net2" ...
  >r get-next-alias dup IF r> alias-to ELSE drop r> drop THEN ;
: first-alias-to ( alias len ph -- )  \ only when there is no such alias yet
  >r 2dup find-alias ?dup IF 2drop 2drop r> drop ELSE r> alias-to THEN ;
: pci-alias ( ph -- )  \ after the function's setup: the alias pci-driver asked for
  pci-alias-kind 0 to pci-alias-kind CASE
     1 OF s" net" rot next-alias-to ENDOF
     2 OF s" disk" rot next-alias-to ENDOF
     3 OF >r s" net" pci-net-num dup 1+ to pci-net-num numbered-alias r> alias-to ENDOF
     4 OF >r s" usb" usb-alias-num dup 1+ to usb-alias-num numbered-alias r> alias-to ENDOF
     5 OF s" vsterm" rot first-alias-to ENDOF
     6 OF s" virtfs" rot alias-to ENDOF
     7 OF s" screen" rot first-alias-to ENDOF
     nip
  ENDCASE ;

: phb-methods ( -- )  \ on the active bridge node
  s" : decode-unit ( str len -- phys.lo phys.mid phys.hi ) pci-decode-unit ;" evaluate
  s" : encode-unit ( phys.lo phys.mid phys.hi -- str len ) pci-encode-unit ;" evaluate
  plain-open-close
  s" : config-b@ ( config-addr -- b ) my-puid 1 rtas-config@ ;" evaluate
  s" : config-w@ ( config-addr -- w ) my-puid 2 rtas-config@ ;" evaluate
  s" : config-l@ ( config-addr -- l ) my-puid 4 rtas-config@ ;" evaluate
  s" : config-b! ( b config-addr -- ) my-puid 1 rtas-config! ;" evaluate
  s" : config-w! ( w config-addr -- ) my-puid 2 rtas-config! ;" evaluate
  s" : config-l! ( l config-addr -- ) my-puid 4 rtas-config! ;" evaluate ;

\ ---- PCI-to-PCI bridges: their children first, inside windows the bridge then forwards
\ (I/O in 4 KiB units and prefetchable 64-bit memory in 4 GiB units, both starting on a
\ unit and always ending past what they hold, a whole unit past when that ends on a unit;
\ 32-bit memory in 1 MiB units with 1 MiB to spare: as SLOF set up QEMU 7.2's pci-bridge,
\ nested too), then the bridge's own BARs after its windows, bus numbers, "ranges" and an
\ interrupt-map that swizzles INTA-INTD by slot onto the parent bus, whose unit address is
\ the bridge's device and function only (no bus number), as SLOF's is.
defer pci-setup-function ( ph -- )
: bridge? ( ph -- flag )  pci-class ffff00 and 060400 = ;
: pci-bus ( ph -- bus )  >space 10 rshift ff and ;

0 value sub-bus     \ the highest bus number seen below a bridge
: note-buses ( ph -- )
  child BEGIN ?dup WHILE dup pci-bus sub-bus max to sub-bus
     dup child IF dup recurse THEN node>peer @ REPEAT ;

: window ( start end unit extra -- start size )  \ a bridge window, at least one unit
  >r >r over - r> tuck align-up swap max r> + ;
: window-past ( start end unit -- start size )  \ whole units, always reaching past the end
  >r over - r@ / 1+ r> * ;                      \ (SLOF's I/O and 64-bit windows)

: bridge-slot-mask ( bridge -- mask )
  0 swap child BEGIN ?dup WHILE dup >space b rshift 1f and 1f swap - 1 swap lshift
     rot or swap node>peer @ REPEAT ;

0 value imap-bridge
0 value imap-child
: imap-entry ( prop len pin -- prop len )
  >r imap-child >space f800 and encode-int+ 0 encode-int+ 0 encode-int+ r@ encode-int+
  imap-bridge parent encode-int+ imap-bridge >space ff00 and encode-int+ 0 encode-int+ 0 encode-int+
  r> 1- imap-child >space b rshift 1f and + 3 and 1+ encode-int+ ;
: bridge-interrupt-map ( bridge -- prop len )
  dup to imap-bridge encode-start rot child BEGIN ?dup WHILE
     dup to imap-child >r 5 1 DO i imap-entry LOOP r> node>peer @
  REPEAT ;

0 value br-io   0 value br-io-size
0 value br-m32  0 value br-m32-size
0 value br-m64  0 value br-m64-size
0 value rg-space  0 value rg-addr  0 value rg-size
: range, ( prop len space addr size -- prop len )  \ one "ranges" entry, child = parent
  to rg-size to rg-addr to rg-space
  2 0 DO rg-space encode-int+ rg-addr xlsplit swap >r encode-int+ r> encode-int+ LOOP
  rg-size xlsplit swap >r encode-int+ r> encode-int+ ;

: pci-setup-bridge ( bridge -- )
  dup set-node phb-methods
  0 0 s" udf-supported" property  s" pci" device-type
  1000 io-next bar-take dup to io-next >r
  mem32-next 100000 align-up dup to mem32-next >r
  mem64-next 100000000 align-up dup to mem64-next >r
  dup child BEGIN ?dup WHILE dup pci-setup-function dup pci-alias node>peer @ REPEAT
  r> r> r> ( bridge m64 m32 io )
  io-next 1000 window-past 2dup + to io-next to br-io-size to br-io
  mem32-next 100000 100000 window 2dup + to mem32-next to br-m32-size to br-m32
  mem64-end IF mem64-next 100000000 window-past 2dup + to mem64-next ELSE drop 0 0 THEN
  to br-m64-size to br-m64
  dup set-node
  dup pci-bus dup s" primary-bus" int-prop
  over child ?dup IF pci-bus ELSE dup 1+ THEN nip ( bridge secondary )
  dup to sub-bus over note-buses
  dup s" secondary-bus" int-prop  sub-bus s" subordinate-bus" int-prop
  encode-int sub-bus encode-int+ s" bus-range" property
  dup bridge-slot-mask s" slot-names" int-prop
  encode-start
  02000000 br-m32 br-m32-size range,
  br-m64-size IF 43000000 br-m64 br-m64-size range, THEN
  01000000 br-io br-io-size range,
  s" ranges" property drop ;

: bridge-interrupts ( bridge -- )  \ after its BARs
  dup set-node bridge-interrupt-map s" interrupt-map" property
  1 s" #interrupt-cells" int-prop
  f800 encode-int 0 encode-int+ 0 encode-int+ 7 encode-int+ s" interrupt-map-mask" property ;

: (pci-setup-function) ( ph -- )
  dup bridge? IF dup pci-setup-bridge dup pci-function-bars bridge-interrupts
  ELSE pci-function-bars THEN ;
' (pci-setup-function) to pci-setup-function

: setup-phb ( ph -- )
  to phb-node phb-node set-node phb-methods
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
