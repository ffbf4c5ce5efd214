#!/usr/bin/env python3
# This file is part of sale_flow.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The demo's mail server: an SMTP sink on 127.0.0.1 that accepts every
message and keeps it, so that the customers' e-mails (shipped, ready for
pickup) can be read and nothing leaves the machine.

    scripts/mail_sink.py --port 8025 --out var/mail   (each message a .eml)

scripts/demo starts it beside the server and points trytond's [email] uri
at it; demo_data.py keeps the build's messages in memory (``sink()``).
"""

import argparse
import contextlib
import os
import socketserver
import threading
import time


class SMTPHandler(socketserver.StreamRequestHandler):
    "Just enough SMTP for smtplib: every message is accepted and kept"

    def reply(self, text):
        self.wfile.write(text.encode('ascii') + b'\r\n')

    def handle(self):
        self.reply('220 sale_flow demo mail sink')
        data = None
        for line in self.rfile:
            if data is not None:
                if line.rstrip(b'\r\n') == b'.':
                    self.server.keep(b''.join(data))
                    data = None
                    self.reply('250 kept')
                else:
                    data.append(line[1:] if line.startswith(b'..') else line)
                continue
            command = line[:4].upper()
            if command == b'DATA':
                data = []
                self.reply('354 end with a line with a single dot')
            elif command == b'QUIT':
                self.reply('221 bye')
                return
            else:
                self.reply('250 ok')


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port=0, folder=None):
        super().__init__(('127.0.0.1', port), SMTPHandler)
        self.messages = []
        self.folder = folder
        self.lock = threading.Lock()

    def keep(self, message):
        with self.lock:
            self.messages.append(message)
            if self.folder:
                name = '%s-%04d.eml' % (
                    time.strftime('%Y%m%d-%H%M%S'), len(self.messages))
                with open(os.path.join(self.folder, name), 'wb') as file:
                    file.write(message)

    @property
    def uri(self):
        return 'smtp://127.0.0.1:%d' % self.server_address[1]


@contextlib.contextmanager
def sink():
    "A sink on a free port, in a thread: yields it (its messages, its uri)"
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with Sink(args.port, args.out) as server:
        server.serve_forever()


if __name__ == '__main__':
    main()
