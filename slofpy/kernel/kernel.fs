\ The engine's own Forth: words that read best in Forth, loaded into every VM at start-up.
\ (The VM starts in hex, as SLOF does.)

defer emit ( char -- )  ' (emit) to emit   \ console output, redirectable
defer key ( -- char )  ' (key) to key          \ console input, redirectable as in paflof
defer key? ( -- flag )  ' (key?) to key?
defer accept ( addr len -- len' )  ' (accept) to accept
defer bp ( -- )  ' noop to bp                 \ paflof's breakpoint hook
defer cr ( -- )  ' (newline) to cr     \ end of line, redirectable (SLOF: ' ll-cr to cr)
: ll-cr ( -- )  (newline) ;
: 2@+ ( addr -- addr+16 x1 x2 )  dup 2 cells + swap 2@ ;
: c@+ ( addr -- c addr+1 )  dup c@ swap char+ ;
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

\ paflof's engine words that read best in Forth (see words/paflof.py for the rest)
defer (find) ( str len head -- 0 | link )  ' ((find)) to (find)
defer (reveal) ( str len -- )  ' 2drop to (reveal)
: xlflips ( addr len -- )  bounds ?DO i x@ xlflip i x! 8 +LOOP ;
: xwflips ( addr len -- )  bounds ?DO i x@ xwflip i x! 8 +LOOP ;
: ok-str ( -- cstr )  c" ok" ;
: aborted-str ( -- cstr )  c" Aborted" ;
: exception-str ( -- cstr )  c" Exception #" ;
: unknown-str ( -- cstr )  c" Undefined word" ;
: undefined-str ( -- cstr )  c" undefined word " ;
: (hw-exception) ( code -- )  exception-str count type . ;
defer hw-exception-handler ( code -- )  ' (hw-exception) to hw-exception-handler
defer boot-exception-handler ( code -- )  ' (hw-exception) to boot-exception-handler
0 value show-stack? ( -- flag )
: showstack ( -- )  -1 to show-stack? ;
: noshowstack ( -- )  0 to show-stack? ;
: print-stack ( -- )  show-stack? IF .s THEN ;
: print-exception ( code -- )
  dup -63 = IF drop unknown-str count type cr EXIT THEN
  dup 100 = IF drop EXIT THEN
  hw-exception-handler ;
: print-status ( code -- )  \ what SLOF's prompt prints after a line: ok, Aborted, the message
  space dup 0= IF drop print-stack ok-str count type ELSE
  dup -1 = IF drop aborted-str count type ELSE
  dup -2 = IF drop abort"-str @ count type ELSE
  print-exception THEN THEN THEN cr ;
\ the input state on the return stack, as paflof keeps it: IB #IB SOURCE-ID SPAN >IN
: save-source ( R: -- ib #ib id span >in )
  r> ib >r #ib @ >r source-id >r span @ >r >in @ >r >r ;
: restore-source ( R: ib #ib id span >in -- )
  r> r> >in ! r> span ! r> to source-id r> #ib ! r> to ib >r ;
