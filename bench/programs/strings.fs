\ strings.fs -- the string words on short strings: COMPARE, SEARCH and MOVE
\ of 5 to 20 characters, 200000 rounds.  Measures the primitives' call cost
\ and short-string handling, as the firmware's name and path lookups use
\ them.  Standard Forth 2012; runs unchanged on gforth and slofpy.
decimal

create buf 64 allot
: s1 ( -- a u )  s" /pci@800000020000000" ;
: s2 ( -- a u )  s" /pci@800000020000001" ;
: key1 ( -- a u )  s" @8000" ;
: round ( acc i -- acc' )
  >r
  s1 s2 compare +
  s1 key1 search rot drop + +
  s1 drop buf r@ 7 and 5 + move
  buf 3 s1 drop 3 compare +
  r> drop ;

: bench ( -- checksum )
  0  200000 0 do  i round  loop ;

bench . cr   \ expect 2800000
