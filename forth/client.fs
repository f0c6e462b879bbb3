\ client.fs -- the IEEE 1275 client interface.
\ A client hands over an argument array in memory, 32-bit big-endian cells: the address of
\ the service name (a NUL-terminated string), the number of arguments, the number of
\ returns, the arguments, then room for the returns. (client-exec) looks the service up in
\ client-voc (then in the normal search order, so peer, child and parent are the node
\ words), pushes the arguments, first argument deepest, runs it, and stores what it left,
\ last return on top. call-method and interpret take their stack arguments the other way
\ round, as IEEE 1275 says: stack-arg1 ends up on top, and catch-result is the first return.

vocabulary client-voc

: ci-string ( zstr -- str len )  zcount ;
: ci-copy ( str len buf buflen -- )  rot min move ;

also client-voc definitions

: test ( zname -- missing? )
  ci-string also client-voc $find previous IF drop 0 ELSE 2drop -1 THEN ;
: finddevice ( zpath -- ph|-1 )
  ci-string 2dup s" /memory" str= IF 2drop s" /memory@0" THEN
  find-node ?dup 0= IF -1 THEN ;
: getproplen ( ph zname -- len|-1 )
  ci-string rot get-property IF -1 ELSE nip THEN ;
: getprop ( ph zname buf buflen -- len|-1 )
  2>r ci-string rot get-property IF 2r> 2drop -1 EXIT THEN
  tuck 2r> ci-copy ;
: setprop ( ph zname buf len -- len )
  dup >r encode-bytes rot ci-string 4 roll set-property r> ;
: nextprop ( ph zprev buf -- flag )
  >r ci-string rot ?dup 0= IF 2drop r> drop -1 EXIT THEN
  next-property IF ( name len ) r> 2dup + >r swap move 0 r> c! 1 ELSE r> drop 0 THEN ;
: canon ( zdev buf buflen -- len )
  rot ci-string find-node ?dup 0= IF 2drop -1 EXIT THEN
  node>path dup >r 2swap ci-copy r> ;
: instance-to-package ( ih -- ph|-1 )  ?dup IF ihandle>phandle ELSE -1 THEN ;
: package-to-path ( ph buf buflen -- len )
  rot ?dup 0= IF 2drop -1 EXIT THEN node>path dup >r 2swap ci-copy r> ;
: instance-to-path ( ih buf buflen -- len )
  rot ?dup 0= IF 2drop -1 EXIT THEN ihandle>phandle -rot package-to-path ;
: open ( zdev -- ih )  ci-string open-dev ;
: close ( ih -- )
  s" stdin" get-chosen IF decode-int nip nip over = IF quiesce THEN THEN close-dev ;
: call-method ( argN .. arg1 zmethod ih -- retM .. ret1 catch-result )
  >r ci-string r> ['] $call-method catch dup IF nip nip nip THEN ;
: interpret ( argN .. arg1 zcmd -- retM .. ret1 catch-result )
  ci-string ['] evaluate catch dup IF nip nip THEN ;
: claim ( virt size align -- base|-1 )
  dup IF rot drop ['] claim catch IF 2drop -1 THEN
  ELSE ['] claim catch IF 2drop drop -1 THEN THEN ;
: release ( virt size -- )  release ;
: milliseconds ( -- ms )  0 ;
: quiesce ( -- )  quiesce ;

previous definitions

0 value ci-args    \ the argument array of the call being served
0 value ci-depth   \ stack depth before its arguments were pushed

: ci-nargs ( -- n )  ci-args 4 + l@ ;
: ci-nret ( -- n )  ci-args 8 + l@ ;
: ci-arg@ ( i -- x )  4 * ci-args + d# 12 + l@ ;
: ci-ret! ( x i -- )  ci-nargs + 4 * ci-args + d# 12 + l! ;
: ci-fixed-args ( str len -- n )  \ 0: arguments in order; n: n leading arguments on top
  2dup s" call-method" str= IF 2drop 2 EXIT THEN  s" interpret" str= IF 1 ELSE 0 THEN ;

: ci-push ( -- x0 .. xn-1 )  ci-nargs 0 ?DO i ci-arg@ LOOP ;
: ci-push-reversed ( k -- xn-1 .. xk x0 .. xk-1 )
  >r ci-nargs BEGIN dup r@ > WHILE 1- dup ci-arg@ swap REPEAT drop
  r> 0 ?DO i ci-arg@ LOOP ;
: ci-results ( -- n )  depth ci-depth - 0 max ;
: ci-store ( r0 .. rk-1 -- )  \ extra results are dropped, missing ones read as 0
  ci-results ci-nret - 0 max 0 ?DO drop LOOP
  ci-results ci-nret over ?DO 0 i ci-ret! LOOP
  BEGIN dup WHILE 1- tuck ci-ret! REPEAT drop ;
: ci-store-reversed ( rn-1 .. r0 -- )  \ top first; missing ones read as 0
  ci-nret 0 ?DO ci-results IF i ci-ret! ELSE 0 i ci-ret! THEN LOOP ;

: (client-service) ( xt k -- )
  swap >r ?dup IF ci-push-reversed r> execute ci-store-reversed ELSE ci-push r> execute ci-store THEN
  depth ci-depth > IF depth ci-depth - 0 ?DO drop LOOP THEN ;

: (client-exec) ( args -- result )
  ci-args >r ci-depth >r to ci-args
  ci-args l@ ci-string 2dup ci-fixed-args >r
  also client-voc $find previous 0= IF 2drop r> drop -1 ELSE
     depth 1- to ci-depth r> ['] (client-service) catch IF ci-depth 0 max depth min depth! -1 ELSE 0 THEN
  THEN
  r> to ci-depth r> to ci-args ;
