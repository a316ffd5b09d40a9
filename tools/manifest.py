# Frozen into the project's unix firmwares. Debian's source package strips
# micropython-lib, so the `ssl` module that upstream's unix port freezes from
# it is replaced by the project's own (tools/frozen/ssl.py), with `ussl` as an
# alias.
include("$(MPY_DIR)/extmod/asyncio")
module("ssl.py", base_path="frozen")
module("ussl.py", base_path="frozen")  # the old name, for libraries that import it
