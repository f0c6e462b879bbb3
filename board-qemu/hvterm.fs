\ hvterm.fs -- the console on the host's virtual terminal 0 (H_PUT_TERM_CHAR and
\ H_GET_TERM_CHAR): emit, key and key? go there once this file is loaded.

0 constant hvterm-termno
: hvterm-emit ( char -- )  hvterm-termno swap hv-putchar ;
: hvterm-key? ( -- flag )  hvterm-termno hv-haschar ;
: hvterm-key ( -- char )  BEGIN hvterm-key? UNTIL hvterm-termno hv-getchar ;

' hvterm-emit to emit
