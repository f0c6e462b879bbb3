\ quiesce.fs -- what runs when the client is done with the firmware.
\ Code registers xts with add-quiesce-xt; quiesce runs each once, in registration order, and
\ only the first time it is called.

100 constant #quiesce-xts
create quiesce-xts #quiesce-xts cells allot
quiesce-xts #quiesce-xts cells erase
0 value quiesce-done?

: add-quiesce-xt ( xt -- )
  #quiesce-xts 0 DO
     quiesce-xts i cells + dup @ ?dup 0= IF ! UNLOOP EXIT THEN
     ( xt slot old ) 2 pick = IF 2drop UNLOOP EXIT THEN drop
  LOOP drop ." Warning: quiesce table full" cr ;

: quiesce ( -- )
  quiesce-done? IF EXIT THEN  true to quiesce-done?
  #quiesce-xts 0 DO quiesce-xts i cells + @ ?dup 0= IF LEAVE THEN execute LOOP ;
