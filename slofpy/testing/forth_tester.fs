\ slofpy's T{ ... -> ... }T tester (shipped with slofpy as slofpy/forth_tester.fs).
\
\   T{ code -> expected values }T
\
\ runs code and compares what it leaves on the stack with the values after ->.
\ After }T: TESTER-FAILED is true on a mismatch; TESTER-ACTUAL and TESTER-EXPECTED hold the
\ values (bottom first), TESTER-ACTUAL# and TESTER-EXPECTED# how many there are (a negative
\ TESTER-ACTUAL# means the code took that many values it did not push); TESTER-DONE is
\ true once }T ran. With TESTER-VERBOSE on (the default) a mismatch is also printed.
\ `testing text` names the tests that follow (the rest of the line is skipped).

variable tester-start
variable tester-actual#
variable tester-expected#
variable tester-failed
variable tester-done
variable tester-verbose  -1 tester-verbose !
d# 64 constant tester-max
create tester-actual    tester-max cells allot
create tester-expected  tester-max cells allot

: testing ( "text<eol>" -- )  d# 10 parse 2drop ;

: tester-depth ( -- n )  depth tester-start @ - ;

\ take n values off the stack into the array at addr, bottom first
: tester-save ( i*x n addr -- )
  over tester-max > abort" T{: more values than the tester keeps"
  swap BEGIN dup WHILE 1- >r tuck r@ cells + ! r> REPEAT 2drop ;

: tester-.values ( addr n -- )  0 ?DO dup i cells + @ . LOOP drop ;

: tester-report ( -- )
  ." INCORRECT RESULT: expected " tester-expected tester-expected# @ tester-.values
  ." actual " tester-actual tester-actual# @ 0 max tester-.values cr ;

: t{ ( -- )
  depth tester-start !  0 tester-failed !  0 tester-done !
  0 tester-actual# !  0 tester-expected# ! ;

: -> ( i*x -- )
  tester-depth dup 0< IF
    tester-actual# !  -1 tester-failed !  depth tester-start !  EXIT
  THEN
  dup tester-actual# !  tester-actual tester-save ;

: }t ( i*x -- )
  tester-depth 0 max dup tester-expected# !  tester-expected tester-save
  tester-actual# @ tester-expected# @ <> IF
    -1 tester-failed !
  ELSE
    tester-actual# @ 0 ?DO
      tester-actual i cells + @  tester-expected i cells + @  <> IF
        -1 tester-failed !  LEAVE
      THEN
    LOOP
  THEN
  -1 tester-done !
  tester-failed @ tester-verbose @ and IF tester-report THEN ;
