" /vdevice/v-scsi@71000002" open-dev value vs
here 200 allot value buf  here 20 allot value cdb
: tgt ( hi -- ) 0 swap " set-address" vs $call-method ;
: cmd ( len dir cdblen -- ) >r >r >r buf 200 ff fill buf r> r> cdb r> " execute-scsi-command" vs $call-method ;
: res ( -- ) dup . dup 0<> IF drop dup . dump ELSE drop THEN cr ;
: c0 ( -- ) cdb 20 erase ;
82000000 tgt
c0 1a cdb c! 3f cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 50 dump
c0 1a cdb c! 7f cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 50 dump
c0 1a cdb c! bf cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 50 dump
c0 1a cdb c! 8 cdb 1 + c! 3f cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 50 dump
c0 1a cdb c! 3f cdb 2 + c! 10 cdb 4 + c! 10 1 6 cmd res buf 12 dump
c0 5a cdb c! 3f cdb 2 + c! ff cdb 8 + c! ff 1 a cmd res buf 50 dump
c0 1a cdb c! 2a cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 20 dump
c0 1a cdb c! 0 cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 10 dump
c0 1a cdb c! 1c cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 10 dump
c0 12 cdb c! 1 cdb 1 + c! 0 cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 20 dump
c0 12 cdb c! 1 cdb 1 + c! 83 cdb 2 + c! ff cdb 4 + c! ff 1 6 cmd res buf 40 dump
c0 12 cdb c! ff cdb 4 + c! ff 1 6 cmd res buf 40 dump
c0 46 cdb c! ff cdb 8 + c! ff 1 a cmd res buf 40 dump
c0 bd cdb c! ff cdb 9 + c! ff 1 c cmd res buf 10 dump
c0 35 cdb c! 0 0 a cmd res
c0 2a cdb c! 1 cdb 8 + c! 800 0 a cmd res
c0 1e cdb c! 1 cdb 4 + c! 0 0 6 cmd res
c0 1b cdb c! 2 cdb 4 + c! 0 0 6 cmd res
c0 1e cdb c! 0 cdb 4 + c! 0 0 6 cmd res
c0 ff cdb c! 0 0 6 cmd res
