\ of.fs -- the generic Open Firmware layer, in load order. Boards include this first.

#include "node.fs"
#include "instance.fs"
#include "property.fs"
#include "unit.fs"
#include "device.fs"
#include "path.fs"
#include "display.fs"
#include "root.fs"
#include "quiesce.fs"
#include "client.fs"
#include "fdt-import.fs"
#include "fdt-flatten.fs"
