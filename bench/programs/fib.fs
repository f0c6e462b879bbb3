\ fib.fs -- doubly recursive Fibonacci: call/return and stack-shuffling cost.
\ Standard Forth 2012; runs unchanged on gforth and slofpy.
decimal

: fib ( n -- fib[n] )
  dup 2 < if exit then
  dup 1- recurse  swap 2 - recurse  + ;

: bench ( -- n )  32 fib ;

bench . cr   \ expect 2178309
