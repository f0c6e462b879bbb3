"""Generated Python code for hot colon definitions.

The threaded code in VM memory is the definition; this package builds a cache of it. After a
few calls (or on the first, when it loops) a definition is decoded, its branches are turned
back into Python `if`/`while`/`for` statements, primitives are inlined, and the result is
compiled into a Python function that the inner interpreter calls instead. Definitions the
cache cannot stand in for faithfully keep running threaded: those that touch their caller's
return-stack entries (on some path an r> without a matching >r, rdepth, rpick, compile), that
call such a word, that EXIT from inside a DO loop without UNLOOP, that have a DOES> anywhere
but at their end, or whose branches do not form plain nested structures. A store into a
compiled body drops its code (VM.code_store).

The promise: generated code leaves exactly what the threaded code leaves, the same stacks,
memory and errors, and at any throw the real data stack is what the threaded code would have
left there, so CATCH and error messages see no difference.

One concern per module, each calling only the ones above it in this list:

* `decoder`: a definition's cells read once into `Instruction`s;
* `ir`: the tree of control structures those make (sequence, IF, BEGIN, DO, word, EXIT):
  `build_tree` for the analyses, `read_flow` (with a node for each branch out of a
  structure: WHILE, LEAVE's branch, a return, a second REPEAT) for the emitter;
* `primitives`: what the generator knows of each primitive (stack effect, lowering tables);
* `caches`: `GeneratedCode`, everything a VM keeps of its generated code, with `reset()`;
* `convention`: where the threaded code goes on after a call, in one place;
* `statements`: the emitter's output, one `Line` object per line of generated code (its
  depth, and for the lines a peephole step looks back at, what it is); text is made last;
* `stack_cache`: `StackCache`, what the emitter knows of the stacks at one point (the
  cached items, with `copy()`), and `Loop`, one loop around that point;
* `analysis`: questions answered without side effects (stack effect, return-stack balance,
  loops, calls that always throw);
* `emitter/`: Python statements for one definition, with the stack kept in locals, walking
  `read_flow`'s tree; one class made of parts with one concern each (emitter/__init__.py
  lists them);
* `source_cache`: what the emitter wrote for a definition, kept between runs under a digest
  of everything it read (the threaded code of the definition and of all it calls, and the
  header cells built in), so a boot that compiled it before does not emit it again;
* `generate`: `compile_definition`, which makes the function and files it.

The package's own namespace stays empty: the engine (core.py) imports only `caches` with
itself, and `generate` / `analysis` when a definition is first called; nothing here imports
the engine.
"""
