\ recurse.fs -- deep recursion that keeps its locals on the return stack:
\ a walk 300 calls deep, each level keeping two values with >R and reading
\ them back with R@ and R> after the recursive call; 7000 walks (2.1
\ million calls).  Measures call and return with return-stack traffic.  Standard
\ Forth 2012; runs unchanged on gforth and slofpy.
decimal

: walk ( n -- x )
  dup 0= if exit then
  dup >r  dup 3 and >r  1- recurse
  r@ xor  r> +  r> + ;

: bench ( -- checksum )
  0  7000 0 do  300 walk +  loop ;

bench . cr   \ expect 319200000
