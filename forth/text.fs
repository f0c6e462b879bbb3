\ text.fs -- text buffers: a buffer remembers its capacity and how much it holds, so the
\ words that build names, paths and messages piece by piece share one way of doing it.

: text-buffer ( max "name" -- )  create dup , 0 , allot ;
: text-clear ( text -- )  0 swap cell+ ! ;
: text$ ( text -- str len )  dup 2 cells + swap cell+ @ ;
: text+ ( str len text -- )  \ append; ABORT" when the buffer is full
  2dup cell+ @ + over @ > ABORT" Text buffer full"
  cell+ dup @ >r 2dup +! cell+ r> + swap move ;
: text-shorten ( n text -- )  cell+ dup @ rot - 0 max swap ! ;
