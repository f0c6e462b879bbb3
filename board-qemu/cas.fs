\ cas.fs -- ibm,client-architecture-support, the root node's method an OS calls with its
\ option vectors (CAS). The method hands them to the host with hcall KVMPPC_H_CAS (hv-cas)
\ together with a 2 MiB buffer; the host answers with a 4-byte update header (version >= 1
\ means a tree follows) and its new flattened tree, which is merged into the firmware's
\ tree here, as SLOF merges it:
\ * nodes: each node of the update is looked up by name under its parent; a missing one is
\   made, an existing one kept, except an interrupt controller, which is always made anew
\   (the host may have switched XICS for XIVE). Every node of the update gets
\   "slof,from-fdt" = the new generation; the host's phandle of each is noted.
\ * nodes the host no longer has (from an earlier generation) go, and so do the aliases
\   that named them; nodes the firmware made itself (no "slof,from-fdt") stay.
\ * properties: every property of the update is set on its node (phandles excepted), and
\   the host's phandles in interrupt-map, interrupt-parent, ibm,gpu, ibm,npu, ibm,nvlink and
\   memory-region become node phandles. A node that is new gets its unit from "reg" and,
\   with #address-cells, its decode-unit/encode-unit methods.
\ The method leaves 0 when the host accepted the vectors (and the update is merged), else
\ the hcall's code, or the THROW code of a merge that failed.

200000 constant cas-buffer-size

\ ---- reading the update (fdt-init has been run on it)
: cas-skip-prop ( addr -- addr' )  \ addr: after a PROP token
  dup l@ 8 + + 3 + -4 and ;
: cas-prop ( addr -- addr' data len name nlen )  \ addr: after a PROP token
  dup 8 + over l@ ( addr data len ) 2 pick 4 + l@ 3 pick fdt-fetch-string
  2>r rot cas-skip-prop -rot 2r> ;
: cas-phandle-prop? ( name nlen -- flag )
  2dup s" phandle" str= >r s" linux,phandle" str= r> or ;
: cas-intc? ( name nlen -- flag )  \ "interrupt-controller", with or without a unit
  dup d# 20 < IF 2drop false EXIT THEN drop d# 20 s" interrupt-controller" string=ci ;

: cas-child ( parent name nlen -- ph|0 )  find-component ;

\ ---- pass 1: the nodes
: cas-mark ( ph -- )  \ this generation's node
  >r fdt-generation# encode-int s" slof,from-fdt" r> set-property ;
: cas-make-child ( parent name nlen -- ph )
  rot set-node new-device [char] @ left-parse-string device-name 2drop
  0 0 s" slof,cas-new" property get-node finish-device ;
: cas-node-for ( parent name nlen -- ph )
  2dup cas-intc? IF 3dup cas-child ?dup IF delete-node THEN THEN
  3dup cas-child ?dup IF nip nip nip ELSE cas-make-child THEN ;

: cas-nodes ( addr ph -- addr' )  \ addr: after this node's name; to after its END_NODE
  dup cas-mark >r
  BEGIN fdt-next-tag dup OF_DT_END_NODE <> WHILE
     CASE
        OF_DT_PROP OF
           cas-prop 2dup cas-phandle-prop? IF
              2drop 4 = IF l@ r@ ph-insert ELSE drop THEN
           ELSE 2drop 2drop THEN
        ENDOF
        OF_DT_BEGIN_NODE OF fdt-fetch-unit r@ -rot cas-node-for recurse ENDOF
        drop 4 - s" unexpected token in the CAS update" fdt-error 0
     ENDCASE
  REPEAT drop r> drop ;

\ ---- what the host no longer has
: cas-obsolete? ( ph -- flag )
  s" slof,from-fdt" rot get-property IF false ELSE decode-int nip nip fdt-generation# < THEN ;
: cas-prune ( ph -- )  \ its children that are obsolete go, with their subtrees
  child BEGIN ?dup WHILE
     dup node>peer @ swap dup cas-obsolete? IF delete-node ELSE recurse THEN
  REPEAT ;
: cas-dead-alias ( -- name len true | false )  \ the first alias whose path finds nothing
  aliases-node ?dup 0= IF false EXIT THEN >r 0 0
  BEGIN r@ next-property WHILE
     2dup r@ get-property 0= IF
        dup IF 2dup + 1- c@ 0= IF 1- THEN THEN find-node 0= IF r> drop true EXIT THEN
     THEN
  REPEAT r> drop false ;
: cas-prune-aliases ( -- )
  BEGIN cas-dead-alias WHILE aliases-node set-node delete-property REPEAT ;

\ ---- pass 2: the properties
: cas-patch ( data len name nlen -- )  \ the host's phandles in it become node phandles
  2dup s" interrupt-map" str= IF 2drop ph-patch-interrupt-map EXIT THEN
  2dup s" interrupt-parent" str= >r 2dup s" ibm,gpu" str= >r 2dup s" ibm,npu" str= >r
  2dup s" ibm,nvlink" str= >r s" memory-region" str= r> or r> or r> or r> or
  IF ph-patch-cells ELSE 2drop THEN ;
: cas-set-prop ( data len name nlen ph -- )
  >r 2dup cas-phandle-prop? IF 2drop 2drop r> drop EXIT THEN
  2>r fdt-encode-prop 2dup 2r@ cas-patch 2r> r> set-property ;

: cas-props ( addr ph -- addr' )  \ as cas-nodes, setting the properties
  >r
  BEGIN fdt-next-tag dup OF_DT_END_NODE <> WHILE
     CASE
        OF_DT_PROP OF cas-prop r@ cas-set-prop ENDOF
        OF_DT_BEGIN_NODE OF
           fdt-fetch-unit r@ -rot cas-child
           ?dup 0= IF dup s" CAS update node lost while merging" fdt-error THEN recurse
        ENDOF
        drop 4 - s" unexpected token in the CAS update" fdt-error 0
     ENDCASE
  REPEAT drop r> drop ;

\ ---- the nodes pass 1 made: unit and unit methods
: cas-finish-new ( ph -- )
  s" slof,cas-new" 2 pick get-property IF drop EXIT THEN 2drop
  set-node s" slof,cas-new" delete-property
  -1 to fdt-unit-cells 0 to fdt-unit#
  s" reg" get-node get-property 0= IF fdt-reg-unit THEN
  s" #address-cells" get-node get-property 0= IF
     decode-int nip nip dup fdt-create-dec fdt-create-enc
  THEN ;

\ ---- the merge
: cas-struct-root ( -- addr )  \ after the root's BEGIN_NODE and name
  fdt-struct fdt-next-tag OF_DT_BEGIN_NODE <> IF 4 - s" CAS update does not start with a node" fdt-error THEN
  fdt-fetch-unit 2drop ;
: cas-table ( -- )  \ room for a phandle per node the update can hold, twice over
  8 BEGIN dup fdt-struct-end fdt-struct - 6 / < WHILE 2* REPEAT ph-alloc ;

: cas-merge ( fdt -- )
  fdt-init fdt-check-header
  fdt-generation# 1+ to fdt-generation#
  cas-table
  cas-struct-root device-tree @ cas-nodes drop
  device-tree @ cas-prune cas-prune-aliases
  cas-struct-root device-tree @ cas-props drop
  ['] cas-finish-new device-tree @ for-each-node
  ph-free ;

: (cas) ( vec buf -- err )
  tuck cas-buffer-size hv-cas ?dup IF nip EXIT THEN
  dup l@ 1 < IF drop 0 EXIT THEN
  4 + my-self >r current-node @ >r 0 to my-self
  ['] cas-merge catch r> set-node r> to my-self
  dup IF nip ph-table IF ph-free THEN THEN ;

dev /
: ibm,client-architecture-support ( vec -- err )
  cas-buffer-size alloc-mem ?dup 0= IF drop -1 EXIT THEN
  dup >r (cas) r> cas-buffer-size free-mem ;
device-end
