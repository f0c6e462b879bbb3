"""libnet: network boot (DHCP, TFTP) and ping. Needs a network device slofpy's hosts do not
have; calling them says so."""
from __future__ import annotations

from .base import CLibrary


class LibNet(CLibrary):
    UNSUPPORTED = ("net-load", "net-ping")


LIBRARY = LibNet
