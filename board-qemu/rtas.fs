\ rtas.fs -- RTAS through the host's KVMPPC_H_RTAS hcall: the argument block, tokens from
\ /rtas, PCI configuration access, the /rtas node's methods and rtas-quiesce, which hands
\ the flattened tree to the host (KVMPPC_H_UPDATE_DT) before the RTAS quiesce call.

create rtas-cb d# 16 4 * allot      \ token nargs nret, then arguments and returns
: rtas>token ( -- addr )  rtas-cb ;
: rtas>nargs ( -- addr )  rtas-cb 4 + ;
: rtas>nret ( -- addr )  rtas-cb 8 + ;
: rtas>args ( i -- addr )  4 * rtas-cb + c + ;

0 value rtas-node
: rtas-get-token ( str len -- token|0 )
  rtas-node 0= IF s" /rtas" find-node to rtas-node THEN
  rtas-node ?dup 0= IF 2drop 0 EXIT THEN
  get-property IF 0 ELSE 4 < IF drop 0 ELSE l@ THEN THEN ;

: enter-rtas ( -- )  rtas-cb hv-rtas drop ;

: rtas-start ( nargs nret str len -- )  \ fill in the block for a call
  rtas-get-token rtas>token l! rtas>nret l! rtas>nargs l! ;
: rtas-status ( -- status )  rtas>nargs l@ rtas>args <l@ ;   \ the first return cell

\ ---- PCI configuration space: ( config-addr buid ) with ibm,read/write-pci-config
: rtas-config@ ( config-addr buid size -- value )
  >r 4 2 s" ibm,read-pci-config" rtas-start
  xlsplit 1 rtas>args l! 2 rtas>args l! 0 rtas>args l! r> 3 rtas>args l!
  enter-rtas 4 rtas>args <l@ IF -1 ELSE 5 rtas>args l@ THEN ;
: rtas-config! ( value config-addr buid size -- )
  >r 5 1 s" ibm,write-pci-config" rtas-start
  xlsplit 1 rtas>args l! 2 rtas>args l! 0 rtas>args l! r> 3 rtas>args l! 4 rtas>args l!
  enter-rtas ;

\ ---- quiesce: the tree goes to the host, then RTAS quiesces the devices
: rtas-quiesce ( -- )
  fdt-flatten-tree dup hv-update-dt ?dup IF
     dup -2 <> IF ." HV-UPDATE-DT error: " . cr ELSE drop THEN
  THEN
  fdt-flatten-tree-free
  0 0 s" quiesce" rtas-start enter-rtas ;

\ ---- the /rtas node's methods. instantiate-rtas copies the RTAS code (five instructions:
\ r4 = the argument block, r3 = KVMPPC_H_RTAS, sc 1, return) to the address the OS chose
\ and records where it is.
create rtas-code  7c641b78 l, 3c600000 l, 6063f000 l, 44000022 l, 4e800020 l,
d# 20 constant /rtas-code

s" /rtas" find-node 0<> [IF]
dev /rtas
: open ( -- true )  true ;
: close ( -- ) ;
: instantiate-rtas ( base -- entry )
  rtas-code over /rtas-code move
  dup encode-int s" linux,rtas-base" (my-phandle) set-property
  dup encode-int s" slof,rtas-base" (my-phandle) set-property
  s" rtas-size" (my-phandle) get-property IF /rtas-code ELSE drop l@ THEN
  encode-int s" slof,rtas-size" (my-phandle) set-property ;
device-end
[THEN]
