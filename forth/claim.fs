\ claim.fs -- physical memory for clients: claim and release keep /memory@0's "available"
\ list (pairs of 64-bit address and size, ascending) up to date, as SLOF's claim.fs does.
\ claim ( [addr] len align -- base ): with align 0, exactly len bytes at addr; otherwise the
\ lowest free block of len bytes aligned to align. A claim that cannot be met throws 321
\ (SLOF's "claim failed"). release ( addr len -- ) gives memory back.

321 constant claim-failed   \ SLOF throws 321 (hex, as its sources are)
d# 64 constant #ranges
create ranges #ranges 2 * cells allot       \ the free list: ( addr size ) pairs
create new-ranges #ranges 2 * cells allot   \ the one being built
0 value #free
0 value #new

: memory-node ( -- ph|0 )  s" /memory@0" find-node ;
: range@ ( i -- addr size )  2 * cells ranges + 2@ ;
: new-range ( addr size -- )  \ append to new-ranges, merging with the one before
  dup 0= IF 2drop EXIT THEN
  #new IF #new 1- 2 * cells new-ranges + dup 2@ + 3 pick = IF ( touching )
     tuck @ + swap ! drop EXIT THEN drop THEN
  #new #ranges >= IF 2drop EXIT THEN
  #new 2 * cells new-ranges + 2! #new 1+ to #new ;
: take-new ( -- )  new-ranges ranges #new 2 * cells move #new to #free ;

: read-available ( -- )
  0 to #free
  memory-node ?dup 0= IF EXIT THEN s" available" rot get-property IF EXIT THEN
  BEGIN dup d# 16 >= #free #ranges < and WHILE
     decode-64 >r decode-64 r> swap ( prop len addr size )
     #free 2 * cells ranges + 2! #free 1+ to #free
  REPEAT 2drop ;
: write-available ( -- )
  memory-node ?dup 0= IF EXIT THEN >r
  encode-start #free 0 ?DO i range@ >r encode-64+ r> encode-64+ LOOP
  s" available" r> set-property ;

0 value carve-start
0 value carve-end
0 value carved?
: carve-one ( rs re -- )
  2dup carve-end >= swap carve-start <= and IF
     true to carved?
     swap carve-start over - new-range
     carve-end tuck - new-range
  ELSE over - new-range THEN ;
: carve ( addr len -- )  \ take [addr, addr+len) out of the free list, or throw
  over + to carve-end to carve-start 0 to #new false to carved?
  #free 0 ?DO i range@ over + carve-one LOOP
  carved? 0= IF claim-failed throw THEN take-new ;

: claim ( [addr] len align -- base )
  read-available
  ?dup 0= IF over >r carve write-available r> EXIT THEN
  ( len align ) #free 0 ?DO
     over i range@ drop 2 pick #aligned ( len align len start )
     dup rot + i range@ + <= IF ( fits ) nip tuck swap carve write-available UNLOOP EXIT THEN
     drop
  LOOP 2drop claim-failed throw ;

: release ( addr len -- )
  read-available 0 to #new false to carved?
  #free 0 ?DO
     i range@ over 4 pick > carved? 0= and IF 2over new-range true to carved? THEN new-range
  LOOP
  carved? 0= IF 2dup new-range THEN 2drop
  take-new write-available ;
