\ root.fs -- the nodes every Open Firmware tree has: /chosen, /aliases, /options, /openprom,
\ /packages, and the /chosen helpers. populate-root makes the ones that are missing (the
\ board runs it after importing the host's tree; on an empty tree it makes the root too).

0 value chosen-node
: chosen ( -- ph )
  chosen-node ?dup IF EXIT THEN
  s" /chosen" find-node dup to chosen-node ;
: set-chosen ( prop len name len -- )  chosen dup 0= ABORT" No /chosen node" set-property ;
: get-chosen ( name len -- prop len true | false )  chosen get-property 0= ;

defer firmware-model ( -- str len )  \ /openprom "model"; boards say which firmware
:noname ( -- str len ) s" slofpy" ; to firmware-model

: root-child ( name len -- ph|0 )
  device-tree @ dup IF 0 to search-#cells -rot find-kid ELSE nip nip THEN ;

: make-child ( name len -- ph )  \ a child of the active node, finished at once
  new-device device-name get-node finish-device ;

: ensure-child ( name len -- ph )
  2dup root-child ?dup IF nip nip EXIT THEN make-child ;

: populate-root ( -- )
  current-node @ >r
  device-tree @ ?dup IF extend-device ELSE new-device s" /" device-name THEN
  s" chosen" ensure-child to chosen-node
  s" aliases" ensure-child drop
  s" options" ensure-child drop
  s" openprom" ensure-child
     dup extend-device firmware-model model 0 0 s" relative-addressing" property
     finish-device drop
  s" packages" ensure-child to packages
  device-tree @ current-node @ = IF finish-device THEN
  r> set-node ;
