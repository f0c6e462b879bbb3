\ memmove.fs -- cell stores, MOVE of a 4096-cell buffer, cell fetches,
\ repeated 3000 times.  Measures ! @ CELLS and block MOVE.
\ Standard Forth 2012; runs unchanged on gforth and slofpy.
decimal

4096 constant #cells
create src #cells cells allot
create dst #cells cells allot

: fill-src ( k -- )  #cells 0 do  dup i +  src i cells + !  loop drop ;
: sum-dst ( -- sum )  0  #cells 0 do  dst i cells + @ +  loop ;

: bench ( -- checksum )
  0  3000 0 do
    i fill-src
    src dst #cells cells move
    sum-dst +
  loop ;

bench . cr   \ expect 43585536000
