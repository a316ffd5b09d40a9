# asyncio streams over AF_UNIX (unix port): a socketpair, one end echoing
# lines as a task, 100 KB lines through both ends (more than the socket
# buffers hold, so both sides wait on poll), then a half-close seen as EOF.
import asyncio
from _helpers import socket


async def main():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    ra, wa = asyncio.StreamReader(a), asyncio.StreamWriter(a, {})
    rb, wb = asyncio.StreamReader(b), asyncio.StreamWriter(b, {})

    async def echo():
        n = 0
        while True:
            line = await rb.readline()
            if not line:
                break
            n += 1
            wb.write(b"echo:" + line)
            await wb.drain()
        wb.close()
        await wb.wait_closed()
        return n

    t = asyncio.create_task(echo())
    for i in range(3):
        wa.write(b"%d:" % i + b"y" * 100000 + b"\n")
        await wa.drain()
        line = await ra.readline()
        print(line[:8], len(line), line == b"echo:%d:" % i + b"y" * 100000 + b"\n")
    a.shutdown(socket.SHUT_WR)
    print("lines echoed", await t)
    print("after the peer closed", await ra.read(10))
    a.close()


asyncio.run(main())
