\ node.fs -- device tree nodes: the node structure, the tree links, the active node.
\ A node (a phandle) is the address of its structure in the dictionary. Each node owns two
\ wordlists: its properties (one $2constant word per property) and its methods. Making a node
\ active with set-node puts its method wordlist on top of the search order and makes it the
\ compilation wordlist, so a colon definition made while a node is active becomes a method.
\ Children keep creation order; the node also remembers its last child so adding one is O(1).

struct
  /n field node>peer               \ next sibling or 0
  /n field node>parent             \ parent phandle, 0 for the root
  /n field node>child              \ first child or 0
  /n field node>properties         \ wid of the property wordlist
  /n field node>words              \ wid of the method wordlist
  /n field node>instance-template  \ instance block copied by open-node
  /n field node>instance-size      \ bytes of the template in use
  /n field node>space?             \ true once a unit address is set
  /n field node>space              \ phys.hi of the unit address
  /n field node>addr1              \ further unit cells (phys.mid ...)
  /n field node>addr2
  /n field node>addr3
  /n field node>last-child         \ newest child, for appending
constant /node

variable device-tree    ( -- a-addr ) \ the root phandle
variable current-node   ( -- a-addr ) \ the active node, 0 for none

: get-node ( -- ph )
  current-node @ dup 0= ABORT" No active device tree node" ;

: peer ( ph -- ph' )  ?dup IF node>peer @ ELSE device-tree @ THEN ;
: child ( ph -- ph' )  node>child @ ;
: parent ( ph -- ph' )  node>parent @ ;
: get-parent ( -- ph )  get-node parent ;

\ Instance templates: every node has one, so that `my-self` is meaningful while the node is
\ being built. The header layout is instance.fs's; the size lives here because create-node
\ allocates the block. A template starts at 80 bytes and grows (instance.fs) as instance
\ data is declared, up to max-instance-size, so large trees do not fill the heap.
50 constant /instance-header
400 constant max-instance-size
: template-block ( size -- bytes )  \ the heap block a template of size bytes lives in
  80 max 2log 1 swap lshift ;

: link ( new head-addr -- )  \ append to a list linked through its first cell
  BEGIN dup @ ?dup WHILE nip REPEAT ! ;

: link-node ( parent child -- )
  swap ?dup 0= IF device-tree ! EXIT THEN ( child parent )
  dup node>last-child @ ?dup IF node>peer ELSE dup node>child THEN ( child parent slot )
  >r over swap node>last-child ! r> ! ;

: new-template ( ph -- template )
  /instance-header template-block dup alloc-mem dup 0= ABORT" Out of memory for instance template"
  tuck swap erase
  tuck ! ( instance>node is the first cell )
  /instance-header over 4 cells + ! ;  ( instance>size )

: create-node ( parent -- ph )
  align here /node allot dup /node erase
  tuck node>parent !
  wordlist over node>properties !
  wordlist over node>words !
  /instance-header over node>instance-size !
  dup new-template over node>instance-template ! ;

: set-node ( ph|0 -- )
  current-node @ 0<> over 0<> and (order-depth) 2 >= and IF   \ one node for another, the usual case:
     dup node>words @ replace-top-of-order                      \ what previous also ... does
     dup current-node ! node>words @ set-current EXIT
  THEN                                     \ (an order too short: the long way, its errors too)
  current-node @ IF previous THEN
  dup current-node !
  ?dup IF also node>words @ replace-top-of-order THEN
  definitions ;

: device-end ( -- )  0 set-node ;

: new-node ( -- ph )  current-node @ dup create-node tuck link-node dup set-node ;
: finish-node ( -- )  get-node parent set-node ;

: child-slot ( ph -- slot|0 )  \ the cell that points at ph in its parent's child list
  dup parent ?dup 0= IF drop 0 EXIT THEN node>child ( ph slot )
  BEGIN dup @ dup 0= IF 2drop drop 0 EXIT THEN 2 pick <> WHILE @ REPEAT nip ;

: delete-node ( ph -- )
  dup parent 0= IF drop 0 device-tree ! EXIT THEN
  dup child-slot ?dup 0= IF drop EXIT THEN ( ph slot )
  over @ over ! ( unlinked )
  over parent dup node>last-child @ 3 pick = IF ( ph slot parent )
     tuck node>child over = IF drop 0 THEN swap node>last-child !
  ELSE 2drop THEN
  dup node>instance-template @ ?dup IF over node>instance-size @ template-block free-mem THEN
  0 swap node>instance-template ! ;
