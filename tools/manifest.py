# Frozen into the project's unix firmwares: asyncio (Debian's source package
# strips micropython-lib, so nothing else is available to freeze).
include("$(MPY_DIR)/extmod/asyncio")
