\ board.fs -- the QEMU pseries board: what SLOF's board-qemu/slof/OF.fs and tree.fs do to
\ turn QEMU's seed into the firmware's device tree, in order. The generic layer (forth/of.fs)
\ is loaded before this file; the seed's address comes from fdt-start. The board reaches
\ the host only through hcall words (hv-putchar, hv-rtas, hv-update-dt, ...).

#include "hvterm.fs"
fdt-start fdt-unflatten            \ QEMU's seed becomes the device tree
#include "rtas.fs"
#include "pci-phb.fs"
#include "vio.fs"
#include "fill-tree.fs"
#include "cas.fs"

boot-tree
