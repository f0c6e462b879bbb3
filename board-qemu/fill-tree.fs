\ fill-tree.fs -- filling the tree after the seed is imported, as SLOF's tree.fs and root.fs do:
\ the root nodes SLOF adds, /options, /packages, /mmu, /openprom's model, drivers for the
\ /vdevice children and the PCI host bridges, quiesce registration, the /chosen instances
\ (cpu, memory, mmu, stdin, stdout) and /memory's "available".

\ ---- the boot CPU: the first child of /cpus, opened
variable chosen-cpu-ihandle
: set-chosen-cpu ( -- )
  s" /cpus" find-node ?dup 0= IF EXIT THEN child ?dup 0= IF EXIT THEN
  0 0 rot open-node dup chosen-cpu-ihandle ! encode-int s" cpu" set-chosen ;
: chosen-cpu-unit ( -- n )
  chosen-cpu-ihandle @ ?dup IF ihandle>phandle >space ELSE 0 THEN ;
' chosen-cpu-unit to boot-cpuid

: chosen-open ( path len name len -- )  \ open path, store its ihandle in /chosen
  2>r open-dev ?dup IF encode-int 2r> set-chosen ELSE 2r> 2drop THEN ;

\ ---- /mmu
: make-mmu ( -- )
  device-tree @ extend-device
  new-device s" mmu" device-name s" mmu" device-type
  0 0 s" translations" property
  plain-open-close
  finish-device device-end ;

\ ---- /memory@0 "available": the RAM QEMU describes, less what the firmware itself uses.
\ slofpy's firmware (system area, dictionary and heap) is the VM's memory, from 0 up to
\ heap-end; everything above it is free for a client.
variable ram-size
: decode-number ( prop len n -- prop' len' x )  0 swap 0 ?DO >r decode-int r> 20 lshift or LOOP ;
: root-cells ( name len -- n )  device-tree @ get-property IF 2 ELSE decode-int nip nip THEN ;
: fdt-parse-memory ( -- )
  0 ram-size !
  s" /memory@0" find-node ?dup 0= IF EXIT THEN
  s" reg" rot get-property IF EXIT THEN
  s" #address-cells" root-cells decode-number drop
  s" #size-cells" root-cells decode-number ram-size ! 2drop ;
: set-available ( -- )
  s" /memory@0" find-node ?dup 0= IF EXIT THEN >r
  heap-end ram-size @ over - 0 max ( start size )
  dup IF swap encode-64 rot encode-64+ ELSE 2drop 0 0 THEN
  s" available" r> set-property ;

: fdt-claim-reserve ( -- )  \ what the seed's memory reserve map lists is not free
  fdt-start-addr ?dup 0= IF EXIT THEN dup >fdth_rsvmap_off l@ +
  BEGIN dup 8 + x@ WHILE
     dup x@ over 8 + x@ 0 ['] claim catch IF 2drop drop ELSE drop THEN 10 +
  REPEAT drop ;

\ ---- the root's own methods
dev /
: open ( -- true )  true ;
: close ( -- ) ;
device-end

\ /openprom "model": the firmware the OS believes it runs on (real SLOF built from git
\ without a tag says SLOF,HEAD)
:noname ( -- str len ) s" SLOF,HEAD" ; to firmware-model

: boot ( -- )  ." slofpy has no boot device: there is nothing to load" cr ;

: boot-tree ( -- )
  populate-root populate-options populate-packages
  make-mmu
  populate-vios
  populate-pci-busses
  ['] rtas-quiesce add-quiesce-xt
  set-chosen-cpu
  s" /memory@0" s" memory" chosen-open
  s" /mmu" s" mmu" chosen-open
  fdt-parse-memory set-available fdt-claim-reserve
  s" hvterm" s" stdin" chosen-open
  s" hvterm" s" stdout" chosen-open
  device-end 0 to my-self ;
