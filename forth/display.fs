\ display.fs -- showing the tree: ls, show-devs, lsprop, pwd, .node.
\ Each node line is the phandle in 8 hex digits, " :  ", the branches and the node's name,
\ as SLOF prints it.

: .node ( ph -- )  node>path type ;
: pwd ( -- )  get-node .node ;

: .phandle ( ph -- )  base @ >r hex 8 0.r r> base ! ;

400 text-buffer ls-prefix   \ the branches drawn left of a node

: .ls-entry ( ph -- )
  cr dup .phandle ."  :  " ls-prefix text$ type
  dup node>peer @ IF ." |-- " ELSE ." +-- " THEN node>qname type ;

: (ls-children) ( ph -- )
  child BEGIN ?dup WHILE
     dup .ls-entry
     dup child IF
        dup node>peer @ IF s" |   " ELSE s"     " THEN ls-prefix text+
        dup recurse
        4 ls-prefix text-shorten
     THEN
     node>peer @
  REPEAT ;

: ls ( -- )
  get-node cr dup .phandle ."  :  " dup .node
  ls-prefix text-clear (ls-children) ;

: rest-of-line ( -- str len )  0 parse -leading -trailing ;
: path-or-root ( str len -- ph )
  dup 0= IF 2drop s" /" THEN find-node dup 0= ABORT" No such device path" ;

: show-devs ( "path<eol>" -- )
  rest-of-line path-or-root ls-prefix text-clear (ls-children) ;

\ lsprop, as SLOF prints it: "node: PATH" and the properties, then each child one level (4
\ spaces) deeper, headed "node: NAME@UNIT", every line of it indented.
: .lsprop-head ( ph -- ph )
  prop-cr ." node: " prop-indent IF dup node>qname type ELSE dup .node THEN ;
: (lsprop) ( ph -- )
  .lsprop-head dup (.properties) cr
  prop-indent 4 + to prop-indent
  child BEGIN ?dup WHILE dup recurse node>peer @ REPEAT
  prop-indent 4 - to prop-indent ;
: lsprop ( "path<eol>" -- )
  rest-of-line path-or-root 0 to prop-indent ['] (lsprop) catch 0 to prop-indent throw ;
