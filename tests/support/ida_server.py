"""A test IDA (Intelligent Download Application) for the Auto-Upgrade
Manager tests: answers the AUM's one GET (docs/aum.md, "The IDA exchange")
over HTTPS on loopback, and logs every request it gets so that a test can
prove what the board sent.

usage: ida_server.py PORT CERT KEY CONFIG LOG

CONFIG is JSON: {"user": U, "password": P, "platform": PLATFORM,
"images": {NAME: URL, ...}, "raw": {NAME: TEXT, ...}}. The answer is
DENIED when user or password do not match, the TEXT of "raw" as it is
(answers the AUM must not understand), OK URL for a known image on the
right platform, NOT_FOUND otherwise. LOG gets one JSON line per request:
the path, the raw query and its decoded fields."""
import http.server
import json
import ssl
import sys
import urllib.parse


def main():
    port, cert, key, config_path, log_path = sys.argv[1:6]
    with open(config_path, encoding="utf-8") as f:
        cfg = json.load(f)

    def answer(fields):
        if fields.get("user") != cfg["user"] or fields.get("password") != cfg["password"]:
            return "DENIED user %s is not entitled to software downloads\n" % fields.get("user", "")
        image = fields.get("image", "")
        if image in cfg.get("raw", {}):
            return cfg["raw"][image]
        if fields.get("platform") != cfg["platform"] or image not in cfg.get("images", {}):
            return "NOT_FOUND %s is not published for %s\n" % (image, fields.get("platform", ""))
        return "OK %s\n" % cfg["images"][image]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urllib.parse.urlsplit(self.path)
            pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
            fields = dict(pairs)
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps({"path": parts.path, "query": parts.query, "fields": fields}) + "\n")
            body = answer(fields).encode("latin-1")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
