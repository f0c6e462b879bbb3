testing control structures, compiled and at interpret level
decimal
: t-if ( n -- x ) 0> if 1 else 2 then ;
T{ 5 t-if -5 t-if -> 1 2 }T
: t-loop ( -- sum ) 0 10 0 do i + loop ;
T{ t-loop -> 45 }T
: t-qdo ( n -- sum ) 0 swap 0 ?do i + loop ;
T{ 0 t-qdo 4 t-qdo -> 0 6 }T
: t-ploop ( -- ... ) 10 0 do i 3 +loop ;
T{ t-ploop -> 0 3 6 9 }T
: t-mloop ( -- ... ) 0 10 do i -3 +loop ;
T{ t-mloop -> 10 7 4 1 }T
: t-down ( -- ... ) 0 3 do i -1 +loop ;
T{ t-down -> 3 2 1 0 }T
: t-nest ( -- n ) 0 3 0 do 4 0 do i j * + loop loop ;
T{ t-nest -> 18 }T
: t-leave ( -- n ) 100 0 do i 5 = if i leave then loop ;
T{ t-leave -> 5 }T
: t-unloop ( -- n ) 10 0 do i 3 = if i unloop exit then loop 99 ;
T{ t-unloop -> 3 }T
: t-begin ( n -- n' ) begin dup 100 < while 2* repeat ;
T{ 3 t-begin -> 192 }T
: t-until ( -- n ) 0 begin 1+ dup 10 = until ;
T{ t-until -> 10 }T
: t-case ( n -- x ) case 1 of 10 endof 2 of 20 endof dup 100 + swap endcase ;
T{ 1 t-case 2 t-case 3 t-case -> 10 20 103 }T
: t-exit ( n -- x ) dup 0< if drop 0 exit then 1 ;
T{ -3 t-exit 3 t-exit -> 0 3 1 }T
: t-rec ( n -- n! ) dup 1 > if dup 1- recurse * then ;
T{ 10 t-rec -> 3628800 }T
: t-fib ( n -- f ) dup 2 < if exit then dup 1- recurse swap 2 - recurse + ;
T{ 20 t-fib -> 6765 }T
: t-ahead ( -- n ) ahead 1 then 2 ;
T{ t-ahead -> 2 }T
testing interpret-level control structures compile into a buffer and run when closed
T{ 1 if 11 else 22 then -> 11 }T
T{ 0 if 11 else 22 then -> 22 }T
T{ 0 5 0 do i + loop -> 10 }T
T{ 0 begin 1+ dup 7 = until -> 7 }T
T{ 2 case 1 of 10 endof 2 of 20 endof endcase -> 20 }T
T{ 1 if 2 if 3 then then -> 3 }T
testing calling a definition many times runs its generated code: same results
: t-sum ( n -- s ) 0 swap 0 ?do i + loop ;
T{ 0 t-sum 1 t-sum 10 t-sum 10 t-sum 100 t-sum -> 0 0 45 45 4950 }T
: t-deep ( n -- ) dup 0> if 1- recurse then ;
T{ 3000 t-deep -> 0 }T
