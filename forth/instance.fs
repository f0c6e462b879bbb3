\ instance.fs -- package instances (ihandles) and per-instance data.
\ An ihandle is the address of an instance block: a header followed by the instance data.
\ Each node's template (made by create-node) is copied by open-node. `instance variable`,
\ `instance value`, `instance defer` and `instance buffer:` reserve room in the template of the
\ active node; at run time they address the data of my-self. `to` and `behavior` know them.

0 value my-self   ( -- ih )

struct
  /n field instance>node
  /n field instance>parent
  /n field instance>args
  /n field instance>args-len
  /n field instance>size
  /n field instance>#units
  /n field instance>unit1
  /n field instance>unit2
  /n field instance>unit3
  /n field instance>unit4
drop

: my-parent ( -- ih )  my-self dup IF instance>parent @ THEN ;
: ihandle>phandle ( ih -- ph )
  dup 0= ABORT" Invalid ihandle (0)" instance>node @ ;
: (my-phandle) ( -- ph )  my-self ?dup IF instance>node @ ELSE get-node THEN ;
: my-args ( -- str len )  my-self ?dup IF dup instance>args @ swap instance>args-len @ ELSE 0 0 THEN ;

: >instance ( offset -- addr )
  my-self 0= ABORT" No instance (my-self is 0)"
  dup my-self instance>size @ u>= ABORT" Instance data offset out of bounds"
  my-self + ;

\ ---- instance data words
0 value instance?   ( -- flag ) \ set by INSTANCE for the next defining word

: instance ( -- )  true to instance? ;

: grow-template ( ph new-size -- )  \ a bigger block for ph's template, contents kept
  over node>instance-size @ template-block over template-block = IF 2drop EXIT THEN
  template-block dup alloc-mem dup 0= ABORT" Out of memory for instance template"
  tuck swap erase ( ph new )
  over node>instance-template @ ( ph new old )
  2dup swap 3 pick node>instance-size @ move
  \ whoever pointed at the old block now points at the new one
  my-self over = IF over to my-self THEN
  2 pick child BEGIN ?dup WHILE
     dup node>instance-template @ instance>parent dup @ 3 pick = IF 3 pick swap ! ELSE drop THEN
     node>peer @
  REPEAT
  2 pick node>instance-size @ template-block free-mem
  swap node>instance-template ! ;

: instance-alloc ( n -- offset )  \ room for n more bytes in the active node's template
  get-node >r  r@ node>instance-size @ ( n off ) tuck + aligned
  dup max-instance-size > ABORT" Instance data bigger than max-instance-size"
  r@ over grow-template
  dup r@ node>instance-size !  r> node>instance-template @ instance>size ! ;

: template+ ( offset -- addr )  get-node node>instance-template @ + ;

\ Instance words are CREATE words with the body ( offset tag ); the tag says which kind.
: ivar-tag ( -- )  ;   : ivalue-tag ( -- ) ;   : idefer-tag ( -- ) ;
: instance-word ( offset tag "name" -- )  create swap , , ;
: instance-tag ( xt -- tag|0 )
  dup @ <create> = IF >body cell+ @ ELSE drop 0 THEN ;
: instance-slot? ( xt -- flag )
  instance-tag dup ['] ivalue-tag = swap ['] idefer-tag = or ;

: undefined-instance-defer ( -- )  true ABORT" Instance defer not set" ;

: (instance-variable) ( "name" -- )
  /n instance-alloc dup template+ off ['] ivar-tag instance-word DOES> @ >instance ;
: (instance-buffer) ( size "name" -- )
  dup instance-alloc tuck template+ swap erase ['] ivar-tag instance-word DOES> @ >instance ;
: (instance-value) ( x "name" -- )
  /n instance-alloc tuck template+ ! ['] ivalue-tag instance-word DOES> @ >instance @ ;
: (instance-defer) ( "name" -- )
  /n instance-alloc ['] undefined-instance-defer over template+ !
  ['] idefer-tag instance-word DOES> @ >instance @ execute ;

: variable ( "name" -- )  instance? IF false to instance? (instance-variable) ELSE variable THEN ;
: value ( x "name" -- )  instance? IF false to instance? (instance-value) ELSE value THEN ;
: defer ( "name" -- )  instance? IF false to instance? (instance-defer) ELSE defer THEN ;
: buffer: ( size "name" -- )  instance? IF false to instance? (instance-buffer) ELSE buffer: THEN ;

: (ito) ( x offset -- )  >instance ! ;
: to ( x "name" -- )
  ' dup instance-slot? IF
     >body @ state @ IF postpone literal postpone (ito) ELSE (ito) THEN
  ELSE
     state @ IF postpone (to) , ELSE cell+ ! THEN
  THEN ; immediate
: is ( x "name" -- )  postpone to ; immediate   \ gforth's spelling; SLOF has only to
: behavior ( xt -- xt' )
  dup instance-slot? IF >body @ >instance @ ELSE behavior THEN ;

\ ---- making and destroying instances
: set-my-args ( str len -- )
  my-self instance>args @ ?dup IF my-self instance>args-len @ 1 max free-mem THEN
  dup IF dup alloc-mem dup 0= ABORT" Out of memory for arguments"
         ( str len buf ) swap 2dup 2>r move 2r> ELSE nip 0 swap THEN ( buf len )
  my-self instance>args-len !  my-self instance>args ! ;

: copy-instance ( template -- ih )
  dup instance>size @ dup alloc-mem dup 0= ABORT" Out of memory for instance"
  >r r@ swap move r>
  0 over instance>args !  0 over instance>args-len ! ;

: create-instance-data ( -- ih )  get-node node>instance-template @ copy-instance ;
: create-instance ( -- )  \ an instance of the active node, child of my-self
  create-instance-data my-self over instance>parent ! to my-self ;

: destroy-instance ( ih -- )
  dup instance>args @ ?dup IF over instance>args-len @ 1 max free-mem THEN
  dup instance>size @ free-mem ;

\ ---- running code in an instance
: call-package ( ... xt ih -- ... )
  my-self >r to my-self catch r> to my-self throw ;

: find-method ( str len ph -- false | xt true )
  node>words @ voc-find dup IF link> true THEN ;

: $call-static ( ... str len ph -- ... )
  >r 2dup r> find-method IF nip nip execute EXIT THEN
  type ."  - no such method" cr -1 throw ;

: $call-method ( ... str len ih -- ... )
  dup 0= ABORT" Invalid ihandle (0) for a method call"
  >r 2dup r@ ihandle>phandle find-method IF nip nip r> call-package EXIT THEN
  r> drop type ."  - no such method" cr -1 throw ;

: $call-my-method ( ... str len -- ... )  my-self $call-method ;
: $call-parent ( ... str len -- ... )  my-parent $call-method ;
