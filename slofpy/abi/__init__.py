"""The guest ABI the hypervisor (slofpy.hv) and the host backends (slofpy.host) share: hcall
numbers and return codes (hcalls) and guest memory (guest_memory). It imports neither layer,
so both import it without a loop: hv sits above host (it decodes registers and dispatches to a
backend), and a backend sees only guest memory and these numbers."""
