\ The engine's own Forth: words that read best in Forth, loaded into every VM at start-up.
\ (The VM starts in hex, as SLOF does.)

defer emit ( char -- )  ' (emit) to emit   \ console output, redirectable
: ll-cr ( -- )  cr ;
: 2@+ ( addr -- addr+16 x1 x2 )  dup 2 cells + swap 2@ ;
: c@+ ( addr -- addr+1 c )  dup char+ swap c@ ;
: 2c@ ( addr -- c0 c1 )  dup c@ swap char+ c@ ;
: 4c@ ( addr -- c0 c1 c2 c3 )  dup 2c@ rot 2 + 2c@ ;
: 8c@ ( addr -- c0 .. c7 )  dup 4c@ 4 roll 4 + 4c@ ;
: eval-string ( str len -- ) evaluate ;
: $dnumber ( str len -- n false | true )  base @ >r decimal $number r> base ! ;
: $dh-number ( str len -- n false | true )
  dup 2 > IF over 2 s" 0x" str= IF 2 /string base @ >r hex $number r> base ! EXIT THEN THEN
  $dnumber ;
: (cr ( -- ) cr ;
: cpeek ( addr -- c true ) c@ true ;
: wpeek ( addr -- w true ) w@ true ;
: lpeek ( addr -- l true ) l@ true ;
: cpoke ( c addr -- true ) c! true ;
: wpoke ( w addr -- true ) w! true ;
: lpoke ( l addr -- true ) l! true ;
: ?comp ( -- )  state @ 0= IF -e throw THEN ;
a constant linefeed ( -- 0a )
d constant carret ( -- 0d )
8 constant bs ( -- 08 )
7 constant bell ( -- 07 )
: todigit ( n -- char )  dup 9 > IF 27 + THEN 30 + ;
: u# ( u -- u' )  base @ u/mod swap todigit hold ;
: u#s ( u -- 0 )  BEGIN u# dup 0= UNTIL ;
: u#> ( u -- str len )  0 #> ;
