\ loops.fs -- nested DO loops, 30000 x 1000 iterations, with a little
\ arithmetic in the inner loop.  Measures the inner interpreter, DO/LOOP,
\ I and J.  Standard Forth 2012; runs unchanged on gforth and slofpy.
decimal

: bench ( -- checksum )
  0  30000 0 do
    1000 0 do
      i j xor +
    loop
  loop ;

bench . cr   \ expect 450091815488
