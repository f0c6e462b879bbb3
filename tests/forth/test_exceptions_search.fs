testing CATCH/THROW, ABORT, ABORT", error codes, and the search order
decimal
: t-throw ( n -- ) throw ;
T{ 0 ' t-throw catch -> 0 }T
T{ 5 ' t-throw catch nip -> 5 }T
T{ 1 2 3 ' t-throw catch nip -> 1 2 3 }T
: t-deep-throw 1 2 3 4 99 throw ;
T{ 7 ' t-deep-throw catch -> 7 99 }T
T{ ' abort catch -> -1 }T
: t-abortq ( f -- ) abort" failed" ;
T{ 0 ' t-abortq catch -> 0 }T
T{ 1 ' t-abortq catch nip -> -2 }T
T{ ' drop catch -> -4 }T
T{ 1 0 ' / catch nip nip -> -10 }T
T{ s" no-such-word" ' evaluate catch nip nip -> -13 }T
T{ s" 1 2" ' evaluate catch -> 1 2 0 }T
: t-inf-rec2 recursive t-inf-rec2 ;
T{ ' t-inf-rec2 catch -> -5 }T
T{ ' r> catch -> -6 }T
testing after an error the VM goes on
T{ 1 2 + -> 3 }T
testing search order
wordlist constant wl1
T{ get-order nip -> 1 }T
wl1 >r get-order r> swap 1+ set-order
definitions
: only-in-wl1 77 ;
forth-wordlist set-current
T{ only-in-wl1 -> 77 }T
T{ s" only-in-wl1" wl1 search-wordlist nip -> -1 }T
T{ s" only-in-wl1" forth-wordlist search-wordlist -> 0 }T
previous
T{ s" only-in-wl1" $find nip nip -> 0 }T
vocabulary voc1
also voc1 definitions
: in-voc1 88 ;
previous definitions
T{ s" in-voc1" $find nip nip -> 0 }T
also voc1
T{ in-voc1 -> 88 }T
previous
T{ get-current forth-wordlist = -> -1 }T
testing (order-depth) and replace-top-of-order
T{ (order-depth) -> 1 }T
also voc1
T{ (order-depth) -> 2 }T
wl1 replace-top-of-order   \ voc1 gives way to wl1
T{ get-order -> forth-wordlist wl1 2 }T
T{ only-in-wl1 s" in-voc1" $find nip nip -> 77 0 }T
previous
T{ get-order -> forth-wordlist 1 }T
: replace-in-empty-order ( -- code )  0 set-order wl1 ['] replace-top-of-order catch nip only ;
T{ replace-in-empty-order (order-depth) get-current forth-wordlist = -> -50 1 -1 }T
T{ 1 2 + -> 3 }T
testing case-insensitive lookup, names keep their case
: MixedCase 5 ;
T{ mixedcase MIXEDCASE -> 5 5 }T
testing voc-find and (prune): the newest word of that name in a wordlist, in any case
wordlist constant t-wl
T{ s" t-a" t-wl voc-find -> 0 }T
get-current t-wl set-current 1 constant t-a 2 constant T-A set-current
T{ s" t-a" t-wl voc-find link> execute s" T-a" t-wl voc-find link> execute -> 2 2 }T
T{ s" t-b" t-wl voc-find s" t-a" forth-wordlist voc-find -> 0 0 }T
T{ s" t-a" t-wl voc-find t-wl (prune) s" t-a" t-wl voc-find link> execute -> 1 }T
T{ -1 1 t-wl ' voc-find catch nip nip nip -> -9 }T
testing link>2value: the two cells after a word's code field
3 4 2constant t-2c
T{ s" t-2c" forth-wordlist voc-find link>2value -> 3 4 }T
T{ -10 ' link>2value catch nip  -1 1 rshift ' link>2value catch nip -> -9 -9 }T
