# Frozen into the project's unix firmwares. Debian's source package strips
# micropython-lib, so the `ssl` module that upstream's unix port freezes from
# it is replaced by the project's own (tools/frozen/ssl.py).
include("$(MPY_DIR)/extmod/asyncio")
module("ssl.py", base_path="frozen")
