#!/usr/bin/env python3
"""bench/netxfer: transfer-engine throughput, measured side by side in one run.

One scenario on the default board copies a 2 MiB file through the
management-port transfer engine against real servers on loopback
(in.tftpd -c, pyftpdlib -w, a Python http.server taking PUT, plain and
wrapped in TLS with a certificate made here by openssl):

  downloads: tftp:, ftp:, https:  -> bootflash:
  uploads:   bootflash:           -> tftp:, ftp:, http:, https:

For each copy it prints the board-time rate (the OS's own `bytes copied in
S secs` line: the engine's time comes from the board file's link figures
only, and a download's figure also holds the NAND write to bootflash:, which
dominates for FTP and HTTPS) and the
wall-clock rate (when the host reads the console lines: from the echoed
`copy` command to the `bytes copied` line, so it also holds the bootflash:
write of a download and the checksum read of an upload), and checks that
the bytes that arrived are the bytes sent.

Usage: bench/netxfer.py BUILD_DIR
"""
import hashlib
import os

import benchlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SIZE = 2 << 20


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_tcp(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"bench/netxfer: nothing listens on port {port}")


# GET serves the directory, PUT stores the body there (HTTPS when given a
# certificate and key).
SERVE_HTTP = """import functools, http.server, os, ssl, sys
port, root = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        with open(os.path.join(root, self.path.lstrip('/')), 'wb') as f:
            f.write(body)
        self.send_response(201)
        self.send_header('Content-Length', '0')
        self.end_headers()
handler = functools.partial(Handler, directory=root)
server = http.server.ThreadingHTTPServer(('127.0.0.1', port), handler)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def main():
    build = benchlib.build_dir(__doc__)
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    work = tempfile.mkdtemp(prefix="trustsim-bench-netxfer-")
    procs = []
    try:
        os.chmod(work, 0o755)
        srv = os.path.join(work, "srv")
        up = os.path.join(srv, "up")
        os.makedirs(up)
        os.chmod(srv, 0o755)
        os.chmod(up, 0o777)  # in.tftpd writes as its unprivileged user
        blob = bytes((i * 7 + (i >> 11)) & 0xFF for i in range(SIZE))
        digest = hashlib.sha256(blob).hexdigest()
        with open(os.path.join(srv, "blob.bin"), "wb") as f:
            f.write(blob)
        os.chmod(os.path.join(srv, "blob.bin"), 0o644)

        pki = os.path.join(work, "pki")
        os.makedirs(pki)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run = lambda *a: subprocess.run(list(a), cwd=pki, check=True, capture_output=True)
        # The engine judges certificate dates by the board's clock (the
        # default board's RTC starts at 2026-11-29), so the dates are fixed
        # around it: openssl ca, since openssl req -x509 cannot set a start date.
        with open(os.path.join(pki, "ca.cnf"), "w") as f:
            f.write(f"[ca]\ndefault_ca = d\n[d]\ndatabase = {pki}/index.txt\nnew_certs_dir = {pki}\n"
                    f"serial = {pki}/serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n"
                    "unique_subject = no\n[p]\ncommonName = supplied\n")
        open(os.path.join(pki, "index.txt"), "w").close()
        with open(os.path.join(pki, "serial"), "w") as f:
            f.write("1000\n")
        dates = ["-startdate", "20200101000000Z", "-enddate", "21000101000000Z"]
        run("openssl", "req", "-new", *ec, "-keyout", "ca.key", "-out", "ca.csr", "-subj", "/CN=bench-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
        run("openssl", "ca", "-batch", "-config", "ca.cnf", "-notext", "-selfsign", "-keyfile", "ca.key",
            "-in", "ca.csr", "-out", "ca.pem", *dates)
        run("openssl", "req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1")
        run("openssl", "ca", "-batch", "-config", "ca.cnf", "-notext", "-cert", "ca.pem", "-keyfile", "ca.key",
            "-in", "srv.csr", "-out", "srv.pem", *dates)
        with open(os.path.join(pki, "serve.py"), "w") as f:
            f.write(SERVE_HTTP)

        log = open(os.path.join(work, "servers.log"), "w")
        tftp_port = free_port(socket.SOCK_DGRAM)
        procs.append(subprocess.Popen(["/usr/sbin/in.tftpd", "-L", "-c", "-s", srv, "--address",
                                       f"127.0.0.1:{tftp_port}"], stdout=log, stderr=log))
        ftp_port = free_port(socket.SOCK_STREAM)
        procs.append(subprocess.Popen(["/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(ftp_port),
                                       "-d", srv, "-u", "bench", "-P", "bench", "-w"], stdout=log, stderr=log))
        https_port = free_port(socket.SOCK_STREAM)
        procs.append(subprocess.Popen(["/usr/bin/python3", os.path.join(pki, "serve.py"), str(https_port), srv,
                                       os.path.join(pki, "srv.pem"), os.path.join(pki, "srv.key")],
                                      stdout=log, stderr=log))
        http_port = free_port(socket.SOCK_STREAM)
        procs.append(subprocess.Popen(["/usr/bin/python3", os.path.join(pki, "serve.py"), str(http_port), srv],
                                      stdout=log, stderr=log))
        wait_tcp(ftp_port)
        wait_tcp(https_port)
        wait_tcp(http_port)
        time.sleep(0.3)  # in.tftpd binds at once; give it a moment

        board = os.path.join(work, "board")
        subprocess.run([trustsim, "board", "new", board], check=True, capture_output=True)
        subprocess.run([trustsim, "flash", "--board", board, "put", os.path.join(srv, "blob.bin"), "blob.bin"],
                       check=True, capture_output=True)

        def q(s):  # a YAML double-quoted scalar holding a regex
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        done = r"bytes copied in [0-9.]+ secs"
        steps = ["power-on", "expect: 'Router>'", "send: enable", "expect: 'Router#'",
                 "send: configure terminal", "send: file prompt quiet",
                 "send: crypto pki trustpoint B", "send: enrollment terminal", "send: exit",
                 "send: crypto ca authenticate B"]
        steps += ["send: " + q(line) for line in open(os.path.join(pki, "ca.pem")).read().splitlines()]
        steps += ["send: ''", "expect: 'Do you accept'", "send: 'yes'", "expect: 'successfully imported'",
                  "send: end"]
        copies = [
            ("tftp download", f"copy tftp://127.0.0.1:{tftp_port}/blob.bin bootflash:t.bin"),
            ("ftp download", f"copy ftp://bench:bench@127.0.0.1:{ftp_port}/blob.bin bootflash:f.bin"),
            ("https download", f"copy https://127.0.0.1:{https_port}/blob.bin bootflash:h.bin"),
            ("tftp upload", f"copy bootflash:blob.bin tftp://127.0.0.1:{tftp_port}/up/t.bin"),
            ("ftp upload", f"copy bootflash:blob.bin ftp://bench:bench@127.0.0.1:{ftp_port}/up/f.bin"),
            ("http upload", f"copy bootflash:blob.bin http://127.0.0.1:{http_port}/up/p.bin"),
            ("https upload", f"copy bootflash:blob.bin https://127.0.0.1:{https_port}/up/s.bin"),
        ]
        for _, cmd in copies:
            steps += ["expect: 'Router#'", "send: " + q(cmd), "expect: " + q(done)]
        for name in ("t.bin", "f.bin", "h.bin"):
            steps.append("check: {file: %s, sha256: '%s'}" % (name, digest))
        scenario = os.path.join(work, "bench.yaml")
        with open(scenario, "w") as f:
            f.write("name: netxfer-bench\ntimeout: 600 s\nsteps:\n" + "".join(f"  - {s}\n" for s in steps))

        p = subprocess.Popen([trustsim, "run", "--board", board, scenario], stdout=subprocess.PIPE, text=True,
                             bufsize=1)
        results, start = [], None
        for line in p.stdout:
            now = time.perf_counter()
            if "Router#copy" in line:
                start = now
            m = re.search(r"(\d+) bytes copied in ([0-9.]+) secs", line)
            if m and start is not None:
                results.append((int(m.group(1)), float(m.group(2)), now - start))
                start = None
        p.wait()
        if p.returncode != 0 or len(results) != len(copies):
            sys.exit(f"bench/netxfer: the scenario failed (exit {p.returncode}, {len(results)} copies done)")
        for rel in ("up/t.bin", "up/f.bin", "up/p.bin", "up/s.bin"):
            with open(os.path.join(srv, rel), "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != digest:
                    sys.exit(f"bench/netxfer: the upload {rel} differs from the bootflash: file")

        print(f"bench/netxfer: default board link figures, {SIZE >> 20} MiB file, servers on loopback, "
              f"{os.cpu_count()} cores")
        for (label, _), (n, virt, wall) in zip(copies, results):
            print(f"  {label:15s}: board {n / virt / 1e6:7.2f} MB/s ({virt:6.3f} s)   "
                  f"wall {n / wall / 1e6:7.2f} MB/s ({wall:6.3f} s)   wall/board {wall / virt:6.2f}")
    finally:
        for pr in procs:
            pr.terminate()
            pr.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
