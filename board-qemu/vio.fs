\ vio.fs -- drivers for the /vdevice children QEMU made, chosen by "compatible" as SLOF's
\ populate-vios does: each gets its methods (defined while the node is active) and the
\ alias SLOF gives it. The terminal talks to the host with H_PUT/GET_TERM_CHAR, NVRAM through
\ the RTAS nvram-fetch/nvram-store calls, v-scsi, l-lan and the vTPM register their CRQ on
\ open and free it on close.

: vio-unit ( -- unit )  (my-phandle) >space ;
: first-alias ( alias len -- )  \ the first device of a kind keeps the alias
  2dup find-alias ?dup IF 2drop 2drop EXIT THEN get-node node>path set-alias ;

\ ---- hvterm1: the console
: vio-hvterm ( -- )
  plain-open-close
  s" : write ( addr len -- actual ) tuck bounds ?DO vio-unit i c@ hv-putchar LOOP ;" evaluate
  s" : read ( addr len -- actual ) 0 -rot bounds ?DO vio-unit hv-haschar 0= IF LEAVE THEN vio-unit hv-getchar i c! 1+ LOOP ;" evaluate
  s" hvterm" first-alias ;

\ ---- qemu,spapr-nvram
: nvram-rtas ( addr len offset str len -- status )
  2>r 3 2 2r> rtas-start 0 rtas>args l! 2 rtas>args l! 1 rtas>args l!
  enter-rtas 3 rtas>args <l@ ;
: nvram-fetch$ ( -- str len )  s" nvram-fetch" ;
: nvram-store$ ( -- str len )  s" nvram-store" ;
: #bytes$ ( -- str len )  s" #bytes" ;
: vio-nvram ( -- )
  s" 0 instance value nvram-pos" evaluate
  s" : open ( -- true ) 0 to nvram-pos true ;" evaluate
  ['] plain-close s" close" method-alias
  s" : seek ( pos.lo pos.hi -- status ) drop to nvram-pos 0 ;" evaluate
  s" : read ( addr len -- actual ) tuck nvram-pos nvram-fetch$ nvram-rtas IF drop 0 ELSE dup nvram-pos + to nvram-pos THEN ;" evaluate
  s" : write ( addr len -- actual ) tuck nvram-pos nvram-store$ nvram-rtas IF drop 0 ELSE dup nvram-pos + to nvram-pos THEN ;" evaluate
  s" : size ( -- n ) #bytes$ get-my-property IF 0 ELSE decode-int nip nip THEN ;" evaluate
  s" nvram" first-alias ;

\ ---- devices with a command/response queue
1000 constant /crq
: vio-crq-device ( -- )
  s" 0 instance value crq" evaluate
  s" : open ( -- ok? ) /crq alloc-mem dup to crq dup /crq erase vio-unit swap /crq hv-reg-crq 0= ;" evaluate
  s" : close ( -- ) vio-unit hv-free-crq crq ?dup IF /crq free-mem THEN 0 to crq ;" evaluate ;
: vio-vscsi ( -- )  vio-crq-device  s" scsi" first-alias ;
: vio-veth ( -- )  vio-crq-device  s" net" get-next-alias dup IF get-node node>path set-alias ELSE drop THEN ;
: vio-vtpm ( -- )  \ and the /ibm,vtpm node for the TPM event log
  vio-crq-device  0 0 s" ibm,sml-efi-reformat-supported" property
  s" ibm,vtpm" root-child IF EXIT THEN
  current-node @ device-tree @ extend-device
  new-device s" ibm,vtpm" device-name s" ibm,vtpm" device-type finish-device
  set-node ;

: compatible? ( str len -- flag )  \ does the active node's "compatible" list name str?
  s" compatible" get-node get-property IF 2drop false EXIT THEN
  BEGIN dup WHILE decode-string 5 pick 5 pick str= IF 2drop 2drop true EXIT THEN REPEAT
  2drop 2drop false ;

: vio-driver ( ph -- )
  dup set-node
  s" hvterm1" compatible? IF vio-hvterm ELSE
  s" qemu,spapr-nvram" compatible? IF vio-nvram ELSE
  s" IBM,v-scsi" compatible? IF vio-vscsi ELSE
  s" IBM,l-lan" compatible? IF vio-veth ELSE
  s" IBM,vtpm20" compatible? IF vio-vtpm ELSE
  s" IBM,vtpm" compatible? IF vio-vtpm
  THEN THEN THEN THEN THEN THEN drop ;

: populate-vios ( -- )
  s" /vdevice" find-node ?dup 0= IF EXIT THEN
  current-node @ >r
  child BEGIN ?dup WHILE dup vio-driver node>peer @ REPEAT
  r> set-node ;
