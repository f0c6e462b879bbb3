\ property.fs -- properties, their encodings and how they print.
\ A property is a $2constant word named after it in the node's property wordlist; running it
\ gives ( data len ). The data stays where the encode-* words built it, in the dictionary, so
\ get-property returns the same address every time and a store into it changes the property.
\ The cell in front of the data holds the xt that prints it (.prop-int, .prop-bytes or
\ .prop-string): the first encode-* after a set-property lays it down, the following ones
\ append right behind, which is what lets encode+ simply add the lengths.
\ set-property on an existing name replaces it and moves it to the front: properties iterate
\ newest first.

\ ---- printing a value as SLOF's .properties does
0 value prop-indent   \ spaces in front of every line a property prints (lsprop's levels)
: prop-cr ( -- )  cr prop-indent spaces ;
: .prop-dump ( data len -- )  \ bytes as hex, 4 to a group, 4 groups to a line
  base @ >r hex
  0 ?DO dup i + c@ 2 0.r
     i 3 and 3 = IF i f and f = IF prop-cr d# 33 spaces ELSE 2 spaces THEN THEN
  LOOP drop  r> base ! ;
: .prop-bytes ( data len -- )  dup IF space .prop-dump ELSE 2drop THEN ;
: .prop-int ( data len -- )  .prop-bytes ;
: .prop-string ( data len -- )
  dup IF space 2dup type prop-cr d# 33 spaces .prop-dump ELSE 2drop THEN ;

\ ---- encoding
true value encode-first?   ( -- flag )

: encode-kind, ( print-xt -- )
  encode-first? IF align , false to encode-first? ELSE drop THEN ;

: encode-start ( -- prop 0 )  ['] .prop-int encode-kind, here 0 ;
: encode-int ( n -- prop 4 )  ['] .prop-int encode-kind, here swap l, 4 ;
: (encode-bytes) ( addr len -- prop len )  \ the bytes after encode-kind,
  here over allot ( addr len dst ) swap 2dup 2>r move 2r> ;
: encode-bytes ( addr len -- prop len )  ['] .prop-bytes encode-kind, (encode-bytes) ;
: encode-string ( str len -- prop len+1 )
  ['] .prop-string encode-kind, encode-bytes 0 c, 1+ ;
: encode+ ( prop1 len1 prop2 len2 -- prop1 len1+len2 )  nip + ;
: encode-int+ ( prop len n -- prop len+4 )  encode-int encode+ ;
: encode-64 ( u64 -- prop 8 )  xlsplit encode-int rot encode-int encode+ ;
: encode-64+ ( prop len u64 -- prop len+8 )  encode-64 encode+ ;

\ ---- decoding
: decode-int ( prop len -- prop+4 len-4 u32 )  over l@ >r 4 /string r> ;
: decode-64 ( prop len -- prop+8 len-8 u64 )  decode-int >r decode-int r> lxjoin ;
: decode-string ( prop len -- prop' len' str slen )
  dup 0= IF 2dup EXIT THEN
  over from-cstring ( prop len slen )
  2 pick over 2>r  1+ /string 0 max  2r> ;

\ ---- properties of a node
: (property-wid) ( ph -- wid )  node>properties @ ;
\ (link>2value ( lfa -- x1 x2 ), an engine word, reads a property word's two cells: what
\ running it gives, without EXECUTE)

: set-property ( data dlen name nlen ph -- )
  (property-wid) >r
  2dup r@ voc-find ?dup IF r@ (prune) THEN
  get-current r> set-current >r
  $2constant
  r> set-current
  true to encode-first? ;

: property ( data dlen name nlen -- )  get-node set-property ;

: delete-property ( name nlen -- )
  get-node (property-wid) >r r@ voc-find ?dup IF r@ (prune) THEN r> drop ;

: get-property ( name nlen ph -- true | data dlen false )
  ?dup 0= IF 2drop true EXIT THEN
  (property-wid) voc-find ?dup IF link> execute false ELSE true THEN ;
: get-package-property ( name nlen ph -- true | data dlen false )  get-property ;
: get-my-property ( name nlen -- true | data dlen false )  (my-phandle) get-property ;
: get-parent-property ( name nlen -- true | data dlen false )
  my-parent ?dup IF ihandle>phandle ELSE get-node parent THEN get-property ;
: get-inherited-property ( name nlen -- true | data dlen false )
  (my-phandle) BEGIN ?dup WHILE
     >r 2dup r@ get-property 0= IF 2swap 2drop r> drop false EXIT THEN r> parent
  REPEAT 2drop true ;

: next-property ( prev len ph -- false | name len true )
  (property-wid) >r
  dup 0= IF 2drop r> cell+ @ ELSE r> voc-find dup IF @ THEN THEN
  ?dup IF link>name name>string true ELSE false THEN ;

\ ---- common properties of the active node
: device-name ( str len -- )  encode-string s" name" property ;
: device-type ( str len -- )  encode-string s" device_type" property ;
: model ( str len -- )  encode-string s" model" property ;
: compatible ( str len -- )  encode-string s" compatible" property ;

\ ---- showing properties
: prop-printer ( data -- xt )  \ how a property was encoded; bytes when unknown
  dup 8 < IF drop ['] .prop-bytes EXIT THEN
  cell- @ dup ['] .prop-string = over ['] .prop-int = or IF EXIT THEN
  drop ['] .prop-bytes ;
: .property ( lfa -- )
  prop-cr dup link>name name>string dup >r type d# 32 r> - 0 max spaces
  link> execute over prop-printer execute ;
: (.properties) ( ph -- )
  (property-wid) cell+ @ BEGIN ?dup WHILE dup .property @ REPEAT ;
: .properties ( -- )  get-node (.properties) ;
