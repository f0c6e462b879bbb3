\ sieve.fs -- the classic BYTE magazine sieve (8190 flags), run 1000 times.
\ Measures byte memory access (C@ C!), DO loops and BEGIN/WHILE loops.
\ Standard Forth 2012; runs unchanged on gforth and slofpy.
decimal

8190 constant size
create flags size allot

: primes ( -- count )
  flags size 1 fill
  0  size 0 do
    flags i + c@ if
      i dup + 3 +  dup i +        ( count prime k )
      begin dup size < while
        0 over flags + c!  over +
      repeat
      2drop 1+
    then
  loop ;

: bench ( -- count )  0  1000 0 do drop primes loop ;

bench . cr   \ expect 1899
