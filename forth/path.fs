\ path.fs -- device paths and aliases: find-node, find-device, dev, devalias, find-package.
\ A path is components "name@unit:args" separated by "/"; a leading "/" starts at the root,
\ otherwise at the active node; "." and ".." work. A unit is turned into cells by the parent's
\ decode-unit method and compared with each child's unit address; a child that has no unit
\ matches any unit, and a component without a unit matches the first child of that name.
\ Names compare without regard to case. Aliases (properties of /aliases) are resolved first,
\ repeatedly.

\ ---- matching one component against the children of a node
create search-unit 4 cells allot
0 value search-#cells      \ 0: no unit given; -1: compare the unit as text
2variable search-unit-text

: set-search-unit ( parent unit ulen -- )
  2dup search-unit-text 2!
  dup 0= IF 2drop drop 0 to search-#cells EXIT THEN
  rot >r s" #address-cells" r@ get-property IF r> drop -1 to search-#cells EXIT THEN
  decode-int nip nip 4 min 1 max ( unit ulen n )
  s" decode-unit" r> find-method 0= IF drop 2drop -1 to search-#cells EXIT THEN
  ( unit ulen n xt ) swap to search-#cells
  catch IF 2drop -1 to search-#cells EXIT THEN
  search-#cells 0 ?DO search-unit i cells + ! LOOP ;

: match-unit ( child -- flag )
  search-#cells 0= IF drop true EXIT THEN
  dup >space? 0= IF drop true EXIT THEN
  search-#cells 0< IF
     node-unit-text IF search-unit-text 2@ string=ci ELSE true THEN EXIT
  THEN
  dup >space search-unit @ <> IF drop false EXIT THEN
  true search-#cells 1 ?DO
     over node>addr1 i 1- cells + @  search-unit i cells + @ <> IF drop false LEAVE THEN
  LOOP nip ;

: find-kid ( ph name nlen -- child|0 )
  rot child BEGIN dup WHILE
     >r 2dup r@ node>name string=ci IF r@ match-unit IF 2drop r> EXIT THEN THEN
     r> node>peer @
  REPEAT nip nip ;

: split-component ( comp clen -- args alen name nlen unit ulen )
  [char] : left-parse-string [char] @ left-parse-string 2swap ;

: find-component ( ph comp clen -- ph'|0 )
  dup 0= IF 2drop EXIT THEN
  2dup s" ." str= IF 2drop EXIT THEN
  2dup s" .." str= IF 2drop parent EXIT THEN
  split-component 2>r 2>r 2drop ( ph )
  dup 2r> 2r> 2swap 2>r set-search-unit 2r> find-kid ;

\ ---- aliases
: aliases-node ( -- ph|0 )
  device-tree @ dup IF 0 to search-#cells s" aliases" find-kid THEN ;

: find-alias ( alias len -- false | path len )
  aliases-node ?dup 0= IF 2drop false EXIT THEN
  get-property IF false EXIT THEN
  dup IF 2dup + 1- c@ 0= IF 1- THEN THEN
  dup 0= IF 2drop false THEN ;   \ an empty alias is no alias

create alias-text 800 allot
create alias-work 800 allot
: alias-name-length ( str len -- n )  \ up to the first "/" or ":"
  tuck 0 ?DO
     dup i + c@ dup [char] / = swap [char] : = or IF 2drop i UNLOOP EXIT THEN
  LOOP drop ;
: alias-concat ( apath alen rest rlen -- path len )
  2 pick over + 800 > ABORT" Device path too long after alias expansion"
  2swap tuck alias-work swap move ( rest rlen alen )
  dup >r alias-work + swap dup >r move r> r> +
  alias-work alias-text 2 pick move alias-text swap ;

: de-alias ( path len -- path' len' )
  d# 10 0 DO
     dup 0= IF LEAVE THEN
     over c@ [char] / = IF LEAVE THEN
     2dup alias-name-length >r
     over r@ find-alias ?dup 0= IF r> drop LEAVE THEN
     2swap r> /string alias-concat
  LOOP ;

: set-alias ( alias len devpath len -- )
  aliases-node dup 0= ABORT" No /aliases node"
  >r encode-string 2swap r> set-property ;

: .alias ( alias len -- )  \ as SLOF shows it: name, " : ", the path with its NUL
  aliases-node ?dup 0= IF 2drop EXIT THEN >r
  2dup r> get-property IF cr type ."  : no such alias" EXIT THEN
  2swap cr type ."  : " type ;

: list-alias ( -- )
  aliases-node ?dup 0= IF EXIT THEN
  (property-wid) cell+ @ BEGIN ?dup WHILE
     dup link>name name>string 2dup s" name" str= IF 2drop ELSE .alias THEN @
  REPEAT ;

create next-alias-text 20 allot
: get-next-alias ( alias len -- alias' len' | false )
  dup d# 30 > IF 2drop false EXIT THEN
  2dup find-alias ?dup 0= IF EXIT THEN 2drop
  tuck next-alias-text swap move ( len )
  d# 10 1 DO
     i [char] 0 + over next-alias-text + c!
     next-alias-text over 1+ find-alias ?dup 0= IF next-alias-text swap 1+ UNLOOP EXIT THEN 2drop
  LOOP drop false ;

: devalias ( "name" "path" -- )
  parse-word dup 0= IF 2drop list-alias EXIT THEN
  parse-word dup 0= IF 2drop .alias EXIT THEN
  set-alias ;

\ ---- finding nodes
: find-node ( path len -- ph|0 )
  de-alias
  dup 0= IF 2drop 0 EXIT THEN
  over c@ [char] / = IF device-tree @ ELSE current-node @ THEN
  dup 0= IF nip nip EXIT THEN -rot ( ph path len )
  BEGIN dup WHILE
     [char] / left-parse-string 2swap 2>r find-component
     dup 0= IF 2r> 2drop EXIT THEN 2r>
  REPEAT 2drop ;

: find-device ( path len -- )
  find-node dup 0= ABORT" No such device path" set-node ;
: dev ( "path" -- )  parse-word find-device ;

0 value packages   ( -- ph ) \ the /packages node, once made

: find-package ( name len -- false | ph true )
  dup IF over c@ [char] / = IF find-node dup IF true THEN EXIT THEN THEN
  0 packages ?dup IF child THEN ( name len found c )
  BEGIN ?dup WHILE
     >r 2 pick 2 pick r@ node>name string=ci IF drop r@ THEN r> node>peer @
  REPEAT nip nip dup IF true THEN ;

\ ---- opening and closing instances
: (open-node) ( arg len ph -- ih|0 )
  node>instance-template @ copy-instance my-self over instance>parent ! to my-self
  set-my-args
  s" open" my-self ihandle>phandle find-method IF execute ELSE true THEN
  IF my-self ELSE my-self destroy-instance 0 THEN ;
: open-node ( arg len ph -- ih|0 )
  my-self >r ['] (open-node) catch r> to my-self throw ;

: close-node ( ih -- )
  dup 0= IF drop EXIT THEN
  s" close" 2 pick ihandle>phandle find-method IF over call-package THEN
  destroy-instance ;

: close-dev ( ih -- )
  BEGIN ?dup WHILE dup instance>parent @ swap close-node REPEAT ;

: (open-dev) ( path len -- ih|0 )  \ opens the root, then each component
  0 0 device-tree @ open-node dup 0= IF nip nip EXIT THEN to my-self
  device-tree @ -rot ( ph path len )
  BEGIN dup WHILE
     [char] / left-parse-string dup IF
        2swap 2>r split-component ( ph args alen name nlen unit ulen )
        6 pick -rot set-search-unit 4 roll -rot find-kid ( args alen child|0 )
        dup 0= IF nip nip my-self close-dev 2r> 2drop EXIT THEN
        dup >r open-node ?dup 0= IF r> drop my-self close-dev 2r> 2drop 0 EXIT THEN
        to my-self r> 2r>
     ELSE 2drop THEN
  REPEAT 2drop drop my-self ;

: open-dev ( path len -- ih|0 )
  de-alias dup 0= IF 2drop 0 EXIT THEN
  over c@ [char] / <> IF 2drop 0 EXIT THEN
  my-self >r 0 to my-self ['] (open-dev) catch r> to my-self throw ;

: select-dev ( path len -- )  open-dev dup 0= ABORT" Cannot open device" to my-self ;
: unselect-dev ( -- )  my-self close-dev 0 to my-self ;

: open-package ( arg len ph -- ih|0 )  open-node ;
: close-package ( ih -- )  close-node ;
: $open-package ( arg len name len -- ih|0 )
  find-package IF open-package ELSE 2drop 0 THEN ;
