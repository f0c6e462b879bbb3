testing strings, parsing and number conversion
decimal
T{ s" abc" nip -> 3 }T
T{ s" abc" drop c@ -> 97 }T
: t-s s" hello" ;
T{ t-s nip -> 5 }T
T{ t-s drop 4 + c@ -> 111 }T
T{ " ab"(0d 0a)cd" nip -> 6 }T
T{ " ab"(0d 0a)cd" drop 2 + c@ -> 13 }T
T{ " x""y" nip -> 3 }T
T{ c" abc" count nip -> 3 }T
T{ z" ab" 2 + c@ -> 0 }T
T{ s\" a\tb\n" nip -> 4 }T
T{ s" abc" s" abc" compare s" abc" s" abd" compare s" b" s" a" compare -> 0 -1 1 }T
T{ s" ab" s" abc" compare -> -1 }T
T{ s" hello world" s" wor" search nip nip -> -1 }T
T{ s" hello world" s" wor" search drop nip -> 5 }T
T{ s" hello" s" xyz" search nip nip -> 0 }T
T{ s" abc  " -trailing nip -> 3 }T
T{ s"   abc" -leading nip -> 3 }T
T{ s" abcdef" 2 /string nip -> 4 }T
T{ s" ABC" s" abc" string=ci s" ABC" s" abc" str= -> -1 0 }T
T{ s" foo" s" bar" $cat nip -> 6 }T
T{ s" foo" s" bar" $cat drop 3 + c@ -> 98 }T
T{ s" a,b" [char] , findchar -> 1 -1 }T
T{ s" ab" [char] , findchar -> 0 }T
T{ s" key=value" [char] = left-parse-string nip nip nip -> 3 }T
T{ s" key=value" [char] = left-parse-string 2drop nip -> 5 }T
T{ s" 12ab" $number -> -1 }T
hex
T{ s" 12ab" $number -> 12ab 0 }T
T{ s" 12xy" $number -> -1 }T
T{ s" -10" $number -> -10 0 }T
decimal
T{ 0 0 s" 123x" >number nip -> 123 0 1 }T
T{ char 7 10 digit char z 10 digit -> 7 -1 122 0 }T
T{ d# 10 h# 10 o# 10 -> 10 16 8 }T
: t-prefix h# ff d# 99 ;
T{ t-prefix -> 255 99 }T
T{ #10 $10 %10 'a' -> 10 16 2 97 }T
T{ 123 (.) nip -> 3 }T
T{ s" abc" here place here count nip -> 3 }T
T{ s" ab" here pack c@ -> 2 }T
T{ s" hello" drop zcount nip -> 5 }T
T{ 97 upc 65 lcc -> 65 97 }T
T{ bl -> 32 }T
T{ s" 1 2 +" evaluate -> 3 }T
T{ s" : t-ev 5 ; t-ev" evaluate -> 5 }T
T{ parse-word foo nip -> 3 }T
T{ char ) parse abc) nip -> 3 }T
T{ bl word xyz count nip -> 3 }T
testing pictured numeric output
T{ 255 0 <# #s #> nip -> 3 }T
T{ 255 0 <# # # #> drop c@ -> 53 }T
T{ -5 dup abs 0 <# #s rot sign #> nip -> 2 }T
T{ 0 0 <# [char] x hold #s #> nip -> 2 }T
T{ base @ hex base @ decimal -> 10 16 }T
testing conditional compilation
T{ 1 [if] 11 [else] 22 [then] -> 11 }T
T{ 0 [if] 11 [else] 22 [then] -> 22 }T
T{ [defined] dup [undefined] no-such-word -> -1 -1 }T
testing SLOF's single-cell pictured output
T{ hex ff <# u#s u#> nip decimal -> 2 }T
T{ hex 0a todigit 5 todigit decimal -> 97 53 }T
T{ s" a/b/c" [char] / rfindchar -> 3 -1 }T
T{ s" a/b/c" [char] / split 2drop nip -> 1 }T
T{ s" a/b/c" [char] / rsplit 2drop nip -> 3 }T
T{ s" a/b/c" [char] / rsplit 2swap 2drop drop c@ -> 99 }T
