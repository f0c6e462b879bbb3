\ packages.fs -- the support packages under /packages. slofpy has no disks, file systems or
\ network to load from, so each package has its methods by name and bodies that say so.

: no-support ( -- )  true ABORT" Not supported by slofpy: no boot devices" ;

: stub-method ( name len -- )  ['] no-support -rot method-alias ;

: support-package ( name len methods len -- )  \ a child of /packages with stub methods
  2>r new-device device-name
  2r> BEGIN dup WHILE
     bl left-parse-string dup IF
        2dup s" open" str= IF 2drop ['] plain-open s" open" method-alias
        ELSE 2dup s" close" str= IF 2drop ['] plain-close s" close" method-alias
        ELSE stub-method THEN THEN
     ELSE 2drop THEN
  REPEAT 2drop finish-device ;

: populate-packages ( -- )
  packages ?dup 0= IF EXIT THEN
  current-node @ >r extend-device
  s" deblocker" s" open close read write seek block-size max-transfer" support-package
  s" disk-label" s" open close load read seek offset block-size" support-package
  s" fat-files" s" open close load read seek" support-package
  s" rom-files" s" open close load read seek" support-package
  s" ext2-files" s" open close load read seek" support-package
  s" obp-tftp" s" open close load" support-package
  s" iso-9660" s" open close load read seek" support-package
  finish-device r> set-node ;
