\ calls.fs -- DO loops whose body calls short colon definitions, 3000 x 1000
\ iterations, three calls an iteration.  Measures calls from inside a loop
\ and the stack traffic around them.  Standard Forth 2012; runs unchanged
\ on gforth and slofpy.
decimal

: sq ( n -- n*n )  dup * ;
: mix ( a b -- c )  xor 7 and ;
: step ( acc i -- acc' )  dup sq swap mix + ;

: bench ( -- checksum )
  0  3000 0 do
    1000 0 do
      i step  j +
    loop
  loop ;

bench . cr   \ expect 4507500000
