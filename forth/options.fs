\ options.fs -- the configuration variables of /options, with SLOF's defaults, as text
\ properties (what printenv shows). populate-options fills /options.

: option ( value vlen name nlen -- )  2>r encode-string 2r> property ;

: populate-options ( -- )
  s" /options" find-node ?dup 0= IF EXIT THEN
  current-node @ >r extend-device
  s" 16384" s" load-base" option
  s" true" s" real-mode?" option
  s" false" s" direct-serial?" option
  s" false" s" use-nvramrc?" option
  s" 0" s" selftest-#megs" option
  s" " s" security-password" option
  s" 0" s" security-mode" option
  s" 0" s" security-#badlogins" option
  s" 512" s" screen-#rows" option
  s" 512" s" screen-#columns" option
  s" " s" output-device" option
  s" false" s" oem-logo?" option
  s" " s" oem-logo" option
  s" false" s" oem-banner?" option
  s" " s" oem-banner" option
  s" " s" nvramrc" option
  s" " s" input-device" option
  s" true" s" fcode-debug?" option
  s" false" s" diag-switch?" option
  s" " s" diag-file" option
  s" " s" diag-device" option
  s" boot" s" boot-command" option
  s" " s" boot-file" option
  s" " s" boot-device" option
  s" true" s" auto-boot?" option
  finish-device r> set-node ;

: printenv ( -- )  s" /options" find-node ?dup IF (.properties) THEN ;
