"""Running SLOF's own Forth: the slof.bin QEMU ships, or a SLOF source tree.

image.py and romfs.py read the user's image or tree; libs/ stands for the C code paflof links
in (SLOF's lib/* libraries), each library a module; boot.py lays the image out in guest
memory as QEMU and SLOF's start-up code do, and runs the boot Forth text on the engine.
"""
