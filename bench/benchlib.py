"""Shared by the bench/*.py scripts: the build directory argument."""
import os
import sys


def build_dir(doc):
    """The build directory named by argv[1] (default build/), checked to hold
    a built trustsim; -h/--help prints the script's doc. Exits with a one-line
    reason otherwise."""
    arg = sys.argv[1] if len(sys.argv) > 1 else "build"
    if arg in ("-h", "--help"):
        print(doc.strip())
        sys.exit(0)
    build = os.path.abspath(arg)
    exe = os.path.join(build, "tools", "trustsim", "trustsim")
    if not os.access(exe, os.X_OK):
        sys.exit(f"{os.path.basename(sys.argv[0])}: no built trustsim at {exe}: give the build directory as the "
                 "first argument (default build/; bash scripts/build.sh makes it)")
    return build
