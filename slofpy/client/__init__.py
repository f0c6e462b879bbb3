"""The Linux-like client: what Linux's prom_init does through the client interface (linux),
and a PHB hotplug read from the tree the client flattened (hotplug)."""
