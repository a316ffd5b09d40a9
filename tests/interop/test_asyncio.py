"""asyncio streams over usocket: a MicroPython asyncio server for 50
concurrent CPython clients (readline, readexactly, write + drain), a client
that resets the connection while the server reads, and MicroPython asyncio
clients of a CPython asyncio server."""
import asyncio
import socket
import struct
import unittest

from mpy import FIRMWARES, Script, TIMEOUT, free_port

CLIENTS = 50



SERVER = """
import asyncio, usocket, errno
served = 0
resets = 0

async def handle(reader, writer):
    global served, resets
    try:
        line = await reader.readline()              # b"<n>\\n"
        if not line:
            return
        n = int(line)
        body = await reader.readexactly(n)
        writer.write(b"len %d sum %d\\n" % (len(body), sum(body)))
        writer.write(bytes(reversed(body)))
        await writer.drain()
        served += 1
    except OSError as e:
        if e.errno == errno.ECONNRESET:
            resets += 1
        else:
            raise
    finally:
        writer.close()
        await writer.wait_closed()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=64)
    print("listening")
    while served < CLIENTS or resets < 1:
        await asyncio.sleep_ms(20)
    print("served", served, "resets", resets)
    server.close()
    await server.wait_closed()

asyncio.run(main())
"""


class AsyncioServer(unittest.TestCase):
    def test_fifty_concurrent_clients_and_a_reset(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                port = free_port()
                m = Script(fw, SERVER.replace("CLIENTS", str(CLIENTS)).replace("PORT", str(port)))
                m.expect("listening")

                async def client(i):
                    r, w = await asyncio.open_connection("127.0.0.1", port)
                    body = bytes((i + k) % 256 for k in range(1000 + 37 * i))
                    # Send the header and the body in pieces, so the server's
                    # readline/readexactly have to wait for the rest.
                    w.write(b"%d\n" % len(body))
                    await w.drain()
                    for k in range(0, len(body), 500):
                        w.write(body[k : k + 500])
                        await w.drain()
                        await asyncio.sleep(0.001)
                    head = await r.readline()
                    back = await r.readexactly(len(body))
                    tail = await r.read()
                    w.close()
                    return head, back, tail, body

                async def resetter():
                    # Half a line, then a reset (SO_LINGER 0) while the server reads.
                    r, w = await asyncio.open_connection("127.0.0.1", port)
                    w.write(b"12")
                    await w.drain()
                    await asyncio.sleep(0.2)
                    sock = w.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    w.transport.abort()

                async def run_all():
                    results = await asyncio.wait_for(
                        asyncio.gather(resetter(), *(client(i) for i in range(CLIENTS))), TIMEOUT)
                    return results[1:]

                for head, back, tail, body in asyncio.run(run_all()):
                    self.assertEqual(head, b"len %d sum %d\n" % (len(body), sum(body)))
                    self.assertEqual(back, bytes(reversed(body)))
                    self.assertEqual(tail, b"")
                self.assertEqual(m.expect("served"), "%d resets 1" % CLIENTS)
                self.assertEqual(m.finish()[0], 0)


class AsyncioClient(unittest.TestCase):
    def test_open_connection_to_cpython(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                async def handle(r, w):
                    line = await r.readline()
                    w.write(b"echo " + line)
                    await w.drain()
                    w.close()

                async def run():
                    server = await asyncio.start_server(handle, "127.0.0.1", 0)
                    port = server.sockets[0].getsockname()[1]
                    m = Script(fw, f"""
                        import asyncio
                        async def one(i):
                            r, w = await asyncio.open_connection("127.0.0.1", {port})
                            w.write(b"hello %d\\n" % i)
                            await w.drain()
                            line = await r.readline()
                            rest = await r.read()
                            w.close()
                            await w.wait_closed()
                            return line == b"echo hello %d\\n" % i and rest == b""
                        async def main():
                            oks = await asyncio.gather(*(one(i) for i in range(20)))
                            print("ok", sum(oks))
                        asyncio.run(main())
                    """)
                    loop = asyncio.get_running_loop()
                    line = await loop.run_in_executor(None, m.expect, "ok")
                    server.close()
                    await server.wait_closed()
                    return line, m

                line, m = asyncio.run(run())
                self.assertEqual(line, "20")
                self.assertEqual(m.finish()[0], 0)


if __name__ == "__main__":
    unittest.main()
