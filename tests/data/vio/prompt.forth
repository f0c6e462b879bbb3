: hx ( a n -- ) 0 ?do dup i + c@ 2 0.r i 3f and 3f = if cr then loop drop ;
tpm-is-working .
tpm-driver-get-failure-reason .
tpm-get-logsize .
dev /vdevice/vtpm@71000006
log-base tpm-get-logsize hx
device-end
