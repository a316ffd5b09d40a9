# asyncio runs over the socket module; nothing else from micropython-lib is
# available in Debian's source package.
include("$(MPY_DIR)/extmod/asyncio")
