\ inner.fs -- nested DO loops as in loops.fs, 30000 x 1000 iterations, but
\ the inner loop is its own short definition called 30000 times.  Measures
\ a loop in a callee and the call around it.  Standard Forth 2012; runs
\ unchanged on gforth and slofpy.
decimal

: inner ( acc j -- acc' )
  1000 0 do  i over xor rot + swap  loop drop ;

: bench ( -- checksum )
  0  30000 0 do  i inner  loop ;

bench . cr   \ expect 450091815488
