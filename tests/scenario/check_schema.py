#!/usr/bin/env python3
"""Every scenario file in the repository (and the step files they include)
validates against scenarios/schema.json, and a set of known-bad files is
refused by it: the published schema and the files keep agreeing.

Usage: check_schema.py SOURCE_DIR
"""
import glob
import os
import sys

import jsonschema
import yaml

src = sys.argv[1]
schema = yaml.safe_load(open(os.path.join(src, "scenarios/schema.json")))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

failed = 0
files = sorted(glob.glob(os.path.join(src, "scenarios/**/*.yaml"), recursive=True))
for f in files:
    # yaml.BaseLoader keeps every scalar a string, as trustsim's reader sees it.
    doc = yaml.load(open(f), Loader=yaml.BaseLoader)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        failed += 1
        print(f"FAIL {os.path.relpath(f, src)}: {errors[0].message} at {'/'.join(map(str, errors[0].path))}")

BAD = {
    "unknown top-level key": "name: x\nstep: [power-on]\n",
    "unknown step": "name: x\nsteps: [reboot]\n",
    "two keys in a step": "name: x\nsteps:\n  - {send: a, expect: b}\n",
    "bad cut mode": "name: x\nsteps:\n  - fault: {power-loss: {device: nvram, mode: half}}\n",
    "bad device": "name: x\nsteps:\n  - sweep: {devices: [flash], steps: [power-on], recovery: [power-on]}\n",
    "sweep without recovery": "name: x\nsteps:\n  - sweep: {devices: nvram, steps: [power-on]}\n",
    "check of nothing": "name: x\nsteps:\n  - check: {pcm: 0}\n",
    "bad key name": "name: x\nsteps:\n  - check: {keys: {active: [prod-A]}}\n",
    "second cut without devices": "name: x\nsteps:\n  - sweep: {devices: nvram, steps: [power-on], recovery: [power-on], second-cut: {modes: torn}}\n",
    "attest without values": "name: x\nsteps:\n  - check: {attest: {nonce: 1}}\n",
    "attest unknown check": "name: x\nsteps:\n  - check: {attest: {nonce: 1, kgv: k.json, failing: [OS hash]}}\n",
    "duration without unit": "name: x\nsteps:\n  - wait: soon\n",
    "missing name": "steps: [power-on]\nboard: x\n",
    "unknown network fault": "name: x\nsteps:\n  - fault: {network: {delay: 5}}\n",
    "network corrupt-byte word": "name: x\nsteps:\n  - fault: {network: {corrupt-byte: middle}}\n",
}
for what, text in BAD.items():
    doc = yaml.load(text, Loader=yaml.BaseLoader)
    if validator.is_valid(doc):
        failed += 1
        print(f"FAIL the schema accepts a file with {what}")

print(f"{len(files)} scenario files and {len(BAD)} bad examples checked, {failed} problems")
sys.exit(1 if failed else 0)
