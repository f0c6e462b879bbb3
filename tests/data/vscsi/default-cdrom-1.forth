dev /vdevice/v-scsi@71000002/disk .properties device-end
" /vdevice/v-scsi@71000002" open-dev value vs
here 200 allot value buf  here 20 allot value cdb
: tgt ( hi -- ) 0 swap " set-address" vs $call-method ;
: cmd ( len dir cdblen -- ) >r >r >r buf 200 ff fill buf r> r> cdb r> " execute-scsi-command" vs $call-method ;
: res ( -- ) dup . dup 0<> IF drop dup . dump ELSE drop THEN cr ;
: c0 ( -- ) cdb 20 erase ;
82000000 tgt
c0 12 cdb c! 24 cdb 4 + c! 24 1 6 cmd res buf 24 dump
c0 0 0 6 cmd res
c0 3 cdb c! 12 cdb 4 + c! 12 1 6 cmd res buf 12 dump
c0 0 0 6 cmd res
c0 25 cdb c! 8 1 a cmd res
c0 3 cdb c! 12 cdb 4 + c! 12 1 6 cmd res buf 12 dump
c0 4a cdb c! 1 cdb 1 + c! 10 cdb 4 + c! 8 cdb 8 + c! 8 1 a cmd res buf 8 dump
c0 a0 cdb c! 200 cdb 6 + l! 200 1 c cmd res buf 20 dump
c0 28 cdb c! 1 cdb 8 + c! 800 1 a cmd res
c0 9e cdb c! 10 cdb 1 + c! 20 cdb d + c! 20 1 10 cmd res
c0 1a cdb c! 3f cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 40 dump
c0 1b cdb c! 2 cdb 4 + c! 0 0 6 cmd res
c0 4a cdb c! 1 cdb 1 + c! 10 cdb 4 + c! 8 cdb 8 + c! 8 1 a cmd res buf 8 dump
c0 1b cdb c! 3 cdb 4 + c! 0 0 6 cmd res
c0 12 cdb c! 1 cdb 1 + c! 80 cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 20 dump
82010000 tgt
c0 12 cdb c! 24 cdb 4 + c! 24 1 6 cmd res buf 24 dump
c0 0 0 6 cmd res
80000000 tgt
c0 a0 cdb c! 200 cdb 6 + l! 200 1 c cmd res buf 20 dump
c0 12 cdb c! 24 cdb 4 + c! 24 1 6 cmd res buf 24 dump
c0 12 cdb c! ff cdb 4 + c! ff 1 6 cmd res buf 30 dump
c0 0 0 6 cmd res
0 tgt
c0 a0 cdb c! 200 cdb 6 + l! 200 1 c cmd res buf 20 dump
vs close-dev
