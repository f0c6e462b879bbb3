\ A small T{ ... -> ... }T tester for slofpy's own Forth tests.
\ T{ records the depth, -> keeps what the code left, }T compares it with what follows.
\ A failure sets TESTER-FAILED and prints what was expected and what came.

variable tester-start
variable tester-count
variable tester-failed
create tester-results 40 cells allot

: t{ ( -- )  depth tester-start !  0 tester-failed ! ;
: -> ( i*x -- )
  depth tester-start @ - dup tester-count !
  0 ?do  tester-results i cells + !  loop ;
: tester-fail ( i*x -- )
  -1 tester-failed !
  ." expected:" tester-count @ 0 ?do  tester-results tester-count @ 1- i - cells + @ .  loop
  ."  got:" depth tester-start @ - 0 max 0 ?do  depth tester-start @ - 1- i - pick .  loop
  depth tester-start @ - 0 max 0 ?do drop loop ;
: }t ( i*x -- )
  depth tester-start @ - tester-count @ <> IF tester-fail EXIT THEN
  tester-count @ 0 ?do
    tester-results i cells + @ <> IF
      tester-count @ i - 1- 0 ?do drop loop
      -1 tester-failed !  ." value mismatch"  UNLOOP EXIT
    THEN
  loop ;
