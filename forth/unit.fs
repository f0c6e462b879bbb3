\ unit.fs -- unit addresses and node names.
\ A node's unit address is phys.hi (node>space) plus up to three more cells; how many is the
\ parent's "#address-cells". Parents turn unit text into cells and back with their
\ decode-unit / encode-unit methods; the generic, hex and hex64 helpers here are what those
\ methods are usually made of. node>qname is "name@unit", node>path the full path.

: int-property ( name len ph -- n )  \ a one-cell property, ABORT" when missing
  get-property ABORT" Missing integer property" decode-int nip nip ;

: #address-cells ( ph -- n )  \ how many cells ph's unit address has (the parent's property)
  parent dup 0= ABORT" The root node has no unit address"
  s" #address-cells" rot get-property ABORT" Missing #address-cells" decode-int nip nip ;
: my-#address-cells ( -- n )  get-node #address-cells ;
: child-#address-cells ( -- n )  s" #address-cells" get-node int-property ;
: child-#size-cells ( -- n )  s" #size-cells" get-node int-property ;

\ ---- encoding several cells, the most significant (top of stack) first
: encode-cells ( x.lo .. x.hi n -- prop len )
  >r encode-start r> 0 ?DO rot encode-int+ LOOP ;
: encode-phys ( phys.lo .. phys.hi -- prop len )  my-#address-cells encode-cells ;
: encode-child-phys ( phys.lo .. phys.hi -- prop len )  child-#address-cells encode-cells ;
: encode-child-size ( size.lo .. size.hi -- prop len )  child-#size-cells encode-cells ;

: decode-cells ( prop len n -- prop' len' x.lo .. x.hi )
  dup 0= IF drop EXIT THEN
  2 pick >r  dup >r 4 * /string  r> r> swap ( prop' len' a n )
  1- 0 swap DO dup i 4 * + l@ swap -1 +LOOP drop ;
: decode-phys ( prop len -- prop' len' phys.lo .. phys.hi )  my-#address-cells decode-cells ;
: decode-phys-and-drop ( prop len -- phys.lo .. phys.hi )
  my-#address-cells dup >r decode-cells r@ roll drop r> roll drop ;

: reg ( phys.lo .. phys.hi size -- )
  >r encode-phys r> encode-int+ s" reg" property ;

\ ---- the unit address of nodes
: >space ( ph -- phys.hi )  node>space @ ;
: >space? ( ph -- flag )  node>space? @ ;
: >address ( ph -- phys.lo .. phys.mid )
  dup #address-cells 1- 3 min ( ph n ) dup 0 <= IF 2drop EXIT THEN
  swap node>addr1 swap ( a n ) 1- 0 swap DO dup i cells + @ swap -1 +LOOP drop ;
: >unit ( ph -- phys.lo .. phys.hi )  dup >r >address r> >space ;

: set-space ( phys.hi -- )  get-node tuck node>space ! true swap node>space? ! ;
: (set-address) ( phys.lo .. phys.mid n -- )  \ n: the active node's #address-cells
  1- 3 min 0 max get-node node>addr1 swap
  0 ?DO tuck ! cell+ LOOP drop ;
: set-address ( phys.lo .. phys.mid -- )  my-#address-cells (set-address) ;
: set-unit ( phys.lo .. phys.hi -- )  set-space set-address ;
: (set-unit) ( phys.lo .. phys.hi n -- )  swap set-space (set-address) ;
: set-unit-64 ( u64 -- )
  my-#address-cells 2 <> ABORT" set-unit-64 needs #address-cells 2"
  xlsplit set-unit ;

\ ---- text <-> cells, comma separated, most significant first
: unit-number ( str len -- n )  $number IF 0 THEN ;
: (generic-decode) ( str len n -- x.lo .. x.hi )
  dup 0= IF drop 2drop EXIT THEN
  >r [char] , left-parse-string unit-number -rot r@ 1- recurse r> 1- roll ;
: generic-decode-unit ( str len n -- phys.lo .. phys.hi )  (generic-decode) ;

100 text-buffer unit-text
: generic-encode-unit ( phys.lo .. phys.hi n -- str len )
  unit-text text-clear
  0 ?DO i IF s" ," unit-text text+ THEN (u.) unit-text text+ LOOP
  unit-text text$ ;

: in-hex ( xt -- )  base @ >r hex catch r> base ! throw ;
: hex-decode-unit ( str len n -- phys.lo .. phys.hi )  ['] generic-decode-unit in-hex ;
\ (no CATCH, as in SLOF: generic-encode-unit fails only on more cells than a unit has, when
\ its text overflows, and then BASE stays hex; the flatten runs this for every node)
: hex-encode-unit ( phys.lo .. phys.hi n -- str len )
  base @ >r hex generic-encode-unit r> base ! ;
: hex64-decode-unit ( str len n -- phys.lo .. phys.hi )
  dup 2 = IF drop ['] unit-number in-hex xlsplit EXIT THEN hex-decode-unit ;
: hex64-encode-unit ( phys.lo .. phys.hi n -- str len )
  dup 2 = IF drop lxjoin 1 THEN hex-encode-unit ;

\ ---- names and paths
100 text-buffer qname-text

: node>name ( ph -- str len )
  dup s" name" rot get-property IF ( no name: the phandle in hex ) base @ >r hex (u.) r> base ! EXIT THEN
  rot drop 1- 0 max ;

: (unit-text) ( ph xt -- str len )  >r >unit r> execute ;
: node-unit-text ( ph -- str len true | false )  \ the unit as the parent's encode-unit gives it
  dup >space? 0= IF drop false EXIT THEN
  dup parent ?dup 0= IF drop false EXIT THEN
  s" encode-unit" rot find-method 0= IF drop false EXIT THEN ( ph xt )
  ['] (unit-text) catch IF 2drop false ELSE true THEN ;

: node>qname ( ph -- str len )
  qname-text text-clear
  dup node>name qname-text text+
  node-unit-text IF s" @" qname-text text+ qname-text text+ THEN
  qname-text text$ ;

800 text-buffer path-text
: (node>path) ( ph -- )
  dup parent 0= IF drop EXIT THEN
  dup parent recurse s" /" path-text text+ node>qname path-text text+ ;
: node>path ( ph -- str len )
  path-text text-clear (node>path)
  path-text text$ nip 0= IF s" /" path-text text+ THEN path-text text$ ;

: $cat-unit ( str len ph -- str' len' )
  node-unit-text IF s" @" 2swap 2>r $cat 2r> $cat THEN ;

\ ---- the unit of the package being run
: my-space ( -- phys.hi )  (my-phandle) >space ;
: my-address ( -- phys.lo .. phys.mid )  (my-phandle) >address ;
: my-unit ( -- phys.lo .. phys.hi )  \ the instance's own unit if it has one, else its node's
  my-self ?dup IF dup instance>#units @ ?dup IF
     ( ih n ) 0 swap 1- DO dup instance>unit1 i cells + @ swap -1 +LOOP drop EXIT
  THEN drop THEN
  (my-phandle) >unit ;
: my-unit-64 ( -- u64 )  \ the low 64 bits of my-unit
  my-unit (my-phandle) #address-cells
  dup 1 = IF drop EXIT THEN 2 - 0 ?DO drop LOOP lxjoin ;
