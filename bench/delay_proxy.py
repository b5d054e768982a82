#!/usr/bin/python3
"""delay_proxy.py -- a TCP proxy that adds a fixed round-trip time.

    bench/delay_proxy.py --target HOST:PORT --rtt-ms MS [--listen HOST:PORT]
                         [--buffer BYTES]

Accepts connections on --listen (default 127.0.0.1:0, a free port) and
connects each to --target.  Every chunk read from either side is held for
RTT/2 after it was read, then written to the other side, in the order it
was read: one request and its response cost one RTT more than without the
proxy, and a stream of chunks keeps its rate (the chunks read while one is
held are held alongside it, not after it).  For benchmarks on a machine
without netem: the bandwidth is whatever loopback and this process allow.

Buffers are bounded: each direction of a connection holds at most --buffer
bytes (default 32 MiB) read and not yet written; beyond that it stops
reading, and TCP pushes back on the sender.  An end of file from one side
is passed on (after the same delay) as a half-close; a reset ends both.

Once it listens it prints one line, "listening HOST PORT", and flushes
stdout; it runs until SIGTERM or SIGINT.  It counts the connections and
the bytes forwarded each way (up: to the target, down: from it) and prints
"connections N, bytes up U, down D" on SIGUSR1 and on exit.
"""
import argparse
import asyncio
import signal
import socket
import sys

CHUNK = 1 << 16


class Stats:
    conns = 0
    up = 0
    down = 0


async def pump(reader, writer, delay, buffer, count):
    """Copy reader to writer, each chunk written delay seconds after it was
    read.  Returns when the reader is at its end (passed on as a
    half-close) or either side failed."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue(maxsize=max(1, buffer // CHUNK))

    async def read_side():
        try:
            while True:
                data = await reader.read(CHUNK)
                await q.put((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await q.put((loop.time(), None))

    async def write_side():
        while True:
            due, data = await q.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.transport.abort()
                return
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            count(len(data))
            await writer.drain()

    rt = asyncio.ensure_future(read_side())
    try:
        await write_side()
    except (ConnectionError, OSError):
        pass
    finally:
        rt.cancel()


async def handle(client_r, client_w, target, delay, buffer):
    Stats.conns += 1
    try:
        server_r, server_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.transport.abort()
        return
    for w in (client_w, server_w):
        w.transport.set_write_buffer_limits(high=1 << 20)
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def up(n):
        Stats.up += n

    def down(n):
        Stats.down += n

    a = asyncio.ensure_future(pump(client_r, server_w, delay, buffer, up))
    b = asyncio.ensure_future(pump(server_r, client_w, delay, buffer, down))
    done, pending = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    # One direction ended.  A half-close leaves the other running until it
    # ends too; a reset (abort) ends it at once.
    await asyncio.wait(pending)
    for w in (client_w, server_w):
        w.close()


def hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


async def main_async(args):
    delay = args.rtt_ms / 2000.0
    target = hostport(args.target)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target, delay, args.buffer), *hostport(args.listen),
        reuse_address=True)
    host, port = server.sockets[0].getsockname()[:2]
    print("listening %s %d" % (host, port), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, print_counts)
    async with server:
        await stop.wait()
    print_counts()


def print_counts():
    print("connections %d, bytes up %d, down %d" % (Stats.conns, Stats.up, Stats.down),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, help="HOST:PORT to forward to")
    ap.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    ap.add_argument("--buffer", type=int, default=32 << 20,
                    help="bytes held per direction of a connection (default 32 MiB)")
    args = ap.parse_args()
    if args.rtt_ms < 0:
        sys.exit("--rtt-ms must be >= 0")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
