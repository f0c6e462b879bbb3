\ device.fs -- building the tree: new-device, finish-device, extend-device.
\ While a node is being built, my-self is its template instance, so instance data written
\ then becomes the initial value every opened instance starts from.

: new-device ( -- )
  my-self new-node node>instance-template @ tuck instance>parent ! to my-self ;

: finish-device ( -- )
  get-node dup >space? 0= IF
     s" reg" rot get-property 0= IF dup 4 >= IF decode-int nip nip set-space ELSE 2drop THEN THEN
  ELSE drop THEN
  finish-node my-parent to my-self ;

: extend-device ( ph -- )  dup set-node node>instance-template @ to my-self ;


\ The methods of a package that needs nothing done to open or close it.
: plain-open ( -- true )  true ;
: plain-close ( -- ) ;
: method-alias ( xt name len -- )  \ a method of the active node that runs xt
  $create , DOES> @ execute ;
: plain-open-close ( -- )
  ['] plain-open s" open" method-alias  ['] plain-close s" close" method-alias ;
