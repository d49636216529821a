"""An FTP server (pyftpdlib) that lets every login in, read-only, and writes
each USER/PASS pair it receives to a log, one "USER PASS" line per login,
so a test can see exactly which credentials the board sent.

usage: ftp_login_log.py PORT ROOT LOG
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]

    class Recording(DummyAuthorizer):
        def validate_authentication(self, username, password, handler):
            with open(log, "a") as f:
                f.write("%s %s\n" % (username, password))

        def has_user(self, username):
            return True

        def get_home_dir(self, username):
            return root

        def has_perm(self, username, perm, path=None):
            return perm in "elr"

        def get_perms(self, username):
            return "elr"

        def get_msg_login(self, username):
            return "Login recorded."

        def get_msg_quit(self, username):
            return "Goodbye."

        def impersonate_user(self, username, password):
            pass

        def terminate_impersonation(self, username):
            pass

    handler = FTPHandler
    handler.authorizer = Recording()
    FTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
