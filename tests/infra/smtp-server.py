#!/usr/bin/env python3
"""A throw-away SMTP server (aiosmtpd) for the AppRuntime tests: keeps every message it accepts in a directory.

    python3 tests/infra/smtp-server.py --dir DIR [--host 127.0.0.1] [--port 0]

Port 0 picks a free port. Once bound, the port is written to DIR/port (atomically: DIR/port.tmp, then a rename) and one
line "smtp-server: listening on <host>:<port>" is printed. No authentication, no TLS; 8BITMIME and SMTPUTF8 are offered;
messages up to 32 MiB (lines up to 1000 octets, aiosmtpd's limit per RFC 5321: a longer line is answered 500).

Files in DIR:
  port                 the bound port (a decimal number and a newline)
  reply                optional fault injection, re-read on every DATA. Line 1: the exact reply to give instead of
                       accepting, e.g. "451 4.3.0 Try again later" or "550 5.1.1 <x@example.com>: mailbox unavailable".
                       Line 2 (optional): a recipient address; then only a message whose envelope recipients include it
                       (case-insensitive) gets that reply, the others are accepted. A missing file or an empty first line
                       accepts everything. A 2xx line is the reply of an accepted message (it is stored like any other).
                       A first line that does not start with a 2xx, 4xx or 5xx code is ignored (and said on stdout).
  attempts.log         one line per DATA: "<unix time ms> <3-digit code> <Message-ID header or -> <rcpt,rcpt,...>"
  messages/NNNNNN.eml  each accepted message, the bytes exactly as received (dot-unstuffed), sequence from 000001
  messages/NNNNNN.json its envelope: {"mail_from": "...", "rcpt_tos": ["...", ...]}; renamed into place before the .eml
                       (addresses without angle brackets, as aiosmtpd gives them; the null sender is "<>")
Files and the log line are written before the reply is sent: when the client has the reply, they are there.
A .eml appears atomically (written as messages/.tmp-NNNNNN-eml, then renamed).

Prints one short line per DATA ("smtp-server: <code> <sequence or -> <Message-ID> -> <rcpts>"). Exits with 0 on SIGTERM or
SIGINT. Debian's python3-aiosmtpd is installed for /usr/bin/python3: another python3 without aiosmtpd (pyenv, a venv)
re-executes this script with /usr/bin/python3.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time

DEBIAN_PYTHON = "/usr/bin/python3"
REEXEC_MARKER = "APPRUNTIME_SMTP_SERVER_REEXEC"

try:
    import aiosmtpd.smtp
except ImportError:
    # Debian's python3-aiosmtpd is installed for Debian's python3; another python3 first on PATH (pyenv, a venv) cannot
    # import it. Run this script with Debian's interpreter instead (same process id: exec).
    if (
        os.environ.get(REEXEC_MARKER) != "1"
        and os.access(DEBIAN_PYTHON, os.X_OK)
        and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
    ):
        os.environ[REEXEC_MARKER] = "1"
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit(f"smtp-server: cannot import aiosmtpd with {sys.executable}; install it with: bash tests/infra/smtp.sh start")

DATA_SIZE_LIMIT = 32 * 1024 * 1024


def say(line):
    """One short line on stdout; a closed stdout (the reader went away) is not an error."""
    try:
        print(line, flush=True)
    except (OSError, ValueError):
        pass


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def bare_address(address):
    address = (address or "").strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address.lower()


def message_id(content):
    """The Message-ID header of a raw message (unfolded, without whitespace), or "-"."""
    end = len(content)
    for separator in (b"\r\n\r\n", b"\n\n"):
        i = content.find(separator)
        if i >= 0:
            end = min(end, i)
    found = None
    for line in content[:end].splitlines():
        if found is not None:
            if line[:1] in (b" ", b"\t"):
                found += line
                continue
            break
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"message-id":
            found = value
    if found is None:
        return "-"
    value = "".join(found.decode("utf-8", errors="replace").split())
    return value or "-"


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.messages = os.path.join(directory, "messages")
        self.reply_path = os.path.join(directory, "reply")
        self.sequence = 0
        os.makedirs(self.messages, exist_ok=True)
        self.attempts = open(os.path.join(directory, "attempts.log"), "a", encoding="utf-8")

    def injected_reply(self, envelope):
        """The first line of DIR/reply when it applies to this envelope, else None."""
        try:
            with open(self.reply_path, encoding="utf-8-sig") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return None
        reply = lines[0].strip() if lines else ""
        if not reply:
            return None
        only = bare_address(lines[1]) if len(lines) > 1 else ""
        if only and only not in (bare_address(r) for r in envelope.rcpt_tos):
            return None
        if len(reply) < 3 or not reply[:3].isdigit() or reply[0] not in "245":
            say(f"smtp-server: ignoring {self.reply_path}: the first line is not an SMTP reply: {reply!r}")
            return None
        return reply

    def store(self, envelope, content):
        self.sequence += 1
        name = f"{self.sequence:06d}"
        envelope_json = json.dumps({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}, ensure_ascii=False)
        json_tmp = os.path.join(self.messages, f".tmp-{name}-json")
        with open(json_tmp, "w", encoding="utf-8") as f:
            f.write(envelope_json)
        os.rename(json_tmp, os.path.join(self.messages, name + ".json"))
        eml_tmp = os.path.join(self.messages, f".tmp-{name}-eml")
        with open(eml_tmp, "wb") as f:
            f.write(content)
        os.rename(eml_tmp, os.path.join(self.messages, name + ".eml"))
        return name

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        content = content or b""
        stored = "-"
        try:
            reply = self.injected_reply(envelope)
            if reply is None or reply.startswith("2"):
                stored = self.store(envelope, content)
                reply = reply or "250 2.0.0 OK: queued as " + stored
        except OSError as e:
            reply = f"451 4.3.0 smtp-server could not store the message: {e}"
        msgid = message_id(content)
        rcpts = ",".join(envelope.rcpt_tos) or "-"
        self.attempts.write(f"{time.time_ns() // 1_000_000} {reply[:3]} {msgid} {rcpts}\n")
        self.attempts.flush()
        say(f"smtp-server: {reply[:3]} {stored} {msgid} -> {rcpts}")
        return reply


async def serve(args):
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    handler = Handler(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: aiosmtpd.smtp.SMTP(
            handler,
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="smtp-test.localhost",
            loop=loop,
        ),
        host=args.host,
        port=args.port,
    )
    port = server.sockets[0].getsockname()[1]
    write_atomically(os.path.join(directory, "port"), f"{port}\n".encode("ascii"))
    say(f"smtp-server: listening on {args.host}:{port}")

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def main():
    # Addresses may be UTF-8 (SMTPUTF8): never fail a message because of the locale's encoding of stdout.
    sys.stdout.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(description="A throw-away SMTP server (aiosmtpd) that keeps every message in --dir.")
    parser.add_argument("--dir", required=True, help="where port, reply, attempts.log and messages/ live")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (written to DIR/port)")
    args = parser.parse_args()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
