\ slofpy: booted
\ The device tree words on the board booted on the built-in QEMU seed, as a firmware
\ developer would check them at SLOF's prompt.

testing paths and units
T{ s" /cpus" find-node 0<> -> true }T
T{ s" /cpus/PowerPC,POWER9@0" find-node s" /cpus" find-node child = -> true }T
T{ s" /pci" find-node node>qname s" pci@800000020000000" str= -> true }T
T{ s" /vdevice/vty@71000000" find-node >space -> 71000000 }T
T{ s" /nonexist" find-node -> 0 }T
T{ 0 peer device-tree @ = -> true }T

testing aliases
T{ s" hvterm" find-alias nip 0<> -> true }T
T{ s" hvterm" find-node s" /vdevice/vty@71000000" find-node = -> true }T
T{ s" nvram/.." find-node s" /vdevice" find-node = -> true }T

testing properties
T{ s" #address-cells" device-tree @ get-property >r decode-int nip nip r> -> 2 false }T
T{ s" nothing" device-tree @ get-property -> true }T
T{ s" model" s" /openprom" find-node get-property >r s" SLOF,HEAD" encode-string drop swap comp r> -> 0 false }T

testing instances and methods
T{ s" /rtas" open-dev dup 0<> swap close-dev -> true }T
T{ s" hvterm" open-dev dup ihandle>phandle swap close-dev s" hvterm" find-node = -> true }T
T{ s" open" s" /packages/deblocker" find-node find-method nip -> true }T

testing the chosen instances
T{ s" stdout" get-chosen >r decode-int nip nip ihandle>phandle r> -> s" hvterm" find-node true }T
T{ s" cpu" get-chosen >r decode-int nip nip ihandle>phandle >space r> -> 0 true }T
