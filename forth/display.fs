\ display.fs -- showing the tree: ls, show-devs, lsprop, pwd, .node.
\ Each node line is the phandle in 8 hex digits, " :  ", the branches and the node's name,
\ as SLOF prints it.

: .node ( ph -- )  node>path type ;
: pwd ( -- )  get-node .node ;

: .phandle ( ph -- )  base @ >r hex 8 0.r r> base ! ;

create ls-prefix 400 allot
0 value ls-prefix-len
: ls-prefix+ ( str len -- )
  ls-prefix-len over + 400 > ABORT" Tree too deep to show"
  tuck ls-prefix ls-prefix-len + swap move ls-prefix-len + to ls-prefix-len ;

: .ls-entry ( ph -- )
  cr dup .phandle ."  :  " ls-prefix ls-prefix-len type
  dup node>peer @ IF ." |-- " ELSE ." +-- " THEN node>qname type ;

: (ls-children) ( ph -- )
  child BEGIN ?dup WHILE
     dup .ls-entry
     dup child IF
        dup node>peer @ IF s" |   " ELSE s"     " THEN ls-prefix+
        dup recurse
        ls-prefix-len 4 - to ls-prefix-len
     THEN
     node>peer @
  REPEAT ;

: ls ( -- )
  get-node cr dup .phandle ."  :  " dup .node
  0 to ls-prefix-len (ls-children) ;

: rest-of-line ( -- str len )  0 parse -leading -trailing ;
: path-or-root ( str len -- ph )
  dup 0= IF 2drop s" /" THEN find-node dup 0= ABORT" No such device path" ;

: show-devs ( "path<eol>" -- )
  rest-of-line path-or-root 0 to ls-prefix-len (ls-children) ;

: (lsprop) ( ph -- )
  dup cr .node dup (.properties) cr
  child BEGIN ?dup WHILE dup recurse node>peer @ REPEAT ;
: lsprop ( "path<eol>" -- )  rest-of-line path-or-root (lsprop) ;
