testing defining words, TO, DEFER, DOES>, POSTPONE, ticks and immediacy
decimal
variable v1
T{ 5 v1 ! v1 @ -> 5 }T
T{ 7 to v1 v1 @ -> 7 }T
10 constant c1
T{ c1 -> 10 }T
20 value val1
T{ val1 30 to val1 val1 -> 20 30 }T
: set-val ( n -- ) to val1 ;
T{ 40 set-val val1 -> 40 }T
defer d1
: d-one 1 ; : d-two 2 ;
' d-one to d1
T{ d1 -> 1 }T
' d-two is d1
T{ d1 -> 2 }T
T{ ' d1 behavior ' d-two = -> -1 }T
T{ ' d1 defer@ ' d-two = -> -1 }T
: d-three 3 ;
T{ ' d-three ' d1 defer! d1 -> 3 }T
T{ action-of d1 ' d-three = -> -1 }T
create cr1 1 , 2 ,
T{ cr1 @ cr1 cell+ @ -> 1 2 }T
T{ ' cr1 >body cr1 = -> -1 }T
: make-adder ( n "name" -- ) create , does> @ + ;
5 make-adder add5
T{ 10 add5 -> 15 }T
: t-imm 42 ; immediate
: t-use-imm [ t-imm ] literal ;
T{ t-use-imm -> 42 }T
: t-post postpone if ; immediate
: t-use-post 1 t-post 7 then ;
T{ t-use-post -> 7 }T
: t-post2 postpone dup ; immediate
: t-use-post2 3 t-post2 ;
T{ t-use-post2 -> 3 3 }T
T{ ' c1 execute -> 10 }T
: t-tick ['] c1 execute ;
T{ t-tick -> 10 }T
T{ :noname 9 ; execute -> 9 }T
T{ 1 2 ' + execute -> 3 }T
: t-char [char] A ;
T{ t-char char B -> 65 66 }T
2 3 2constant tc2
T{ tc2 -> 2 3 }T
10 buffer: bf1
T{ bf1 c@ -> 0 }T
alias t-plus +
T{ 1 2 t-plus -> 3 }T
struct
  8 field >f1
  4 field >f2
constant /t-struct
T{ /t-struct 100 >f1 100 >f2 -> 12 100 108 }T
: t-rcs recursive dup 0> if 1- t-rcs then ;
T{ 5 t-rcs -> 0 }T
marker forget-me
: gone 1 ;
forget-me
T{ s" gone" $find nip nip -> 0 }T
T{ s" c1" $find nip -> -1 }T
: t-compile-comma ['] c1 compile, ; immediate
: t-cc t-compile-comma ;
T{ t-cc -> 10 }T
testing return-stack tricks: a word that reads inline data after its call site
: inline@ ( -- x ) r> cell+ dup >r @ ;   \ SLOF's form: R> is the calling cell
: t-inline inline@ [ 1234 , ] 1 + ;
T{ t-inline -> 1235 }T
T{ t-inline -> 1235 }T
T{ t-inline -> 1235 }T
T{ t-inline -> 1235 }T
: t-skip-caller ( -- ) r> drop ;
: t-caller 1 t-skip-caller 2 ;
T{ t-caller -> 1 }T
