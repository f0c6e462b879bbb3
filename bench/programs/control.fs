\ control.fs -- definitions with CASE, nested IF and BEGIN/WHILE that call
\ other words, 300000 times.  Measures branches and calls mixed, as the
\ firmware's parsers and tree walkers have them.  Standard Forth 2012; runs
\ unchanged on gforth and slofpy.
decimal

: small? ( n -- flag )  10 < ;
: classify ( n -- k )
  dup 4 mod case
    0 of drop 1 endof
    1 of small? if 2 else 3 then endof
    2 of dup 2 mod if drop 4 else 6 < if 5 else 6 then then endof
    swap drop 7 swap
  endcase ;
: digits ( n -- count )
  0 swap begin dup while 10 / swap 1+ swap repeat drop ;
: collatz-ish ( n -- steps )
  0 swap begin dup 1 > while
    dup 1 and if 3 * 1+ else 2/ then swap 1+ swap
    over 12 > if drop 1 then
  repeat drop ;

: bench ( -- checksum )
  0  300000 0 do
    i classify +  i digits +  i 255 and collatz-ish +
  loop ;

bench . cr   \ expect 6649409
