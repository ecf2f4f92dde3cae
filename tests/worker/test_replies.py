"""Replies are parsed within bounds: a frame a student forges on the reply channel is refused
before the grader allocates or parses it, and the grader's memory stays near its baseline."""

import resource
from types import SimpleNamespace

import pytest

from autograder.errors import BadReturn
from autograder.sandbox import SandboxConfig
from autograder.worker import Worker

FORGER = '''
import os, sys

def channel():
    """The reply channel and this call's sequence number (found through the worker's globals
    and frames)."""
    resp, seq, frame = None, None, sys._getframe()
    while frame is not None:
        resp = frame.f_globals.get("_RESP", resp)
        for value in list(frame.f_locals.values()):
            if isinstance(value, dict) and value.get("op") == "call" and "seq" in value:
                seq = value["seq"]
        frame = frame.f_back
    return resp, seq

def forge(header_mib, declared_mib=0):
    """Write a frame of our own on the reply channel: a JSON header of `header_mib` MiB of
    empty lists."""
    resp, seq = channel()
    body = b'{"op":"return","seq":%d,"blobs":[],"value":null,"junk":[' % seq
    body += b"[]," * (header_mib * 2**20 // 3) + b"[]]}"
    total = 4 + len(body) if not declared_mib else declared_mib * 2**20
    os.write(resp, total.to_bytes(4, "little") + len(body).to_bytes(4, "little"))
    view = memoryview(body)
    while view:
        view = view[os.write(resp, view):]
    return 1

def forge_shared(index, offset):
    """A reply whose one 64 KiB blob is said to lie in the shared area at ``offset``."""
    resp, seq = channel()
    body = (b'{"op":"return","seq":%d,"blobs":[65536],"shared_blobs":[[%d,%d]],'
            b'"value":{"t":"nd","b":0}}' % (seq, index, offset))
    os.write(resp, (4 + len(body)).to_bytes(4, "little") + len(body).to_bytes(4, "little") + body)
    return 1

def honest():
    return 2
'''


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("header_mib,declared_mib,refused", [
    (48, 0, "frame header of .* bytes exceeds the limit"),  # a reply of legal size
    (8, 256, "message of 268435456 bytes exceeds the limit"),  # declared bigger than allowed
])
def test_a_forged_reply_frame_is_refused_before_it_is_parsed(header_mib, declared_mib, refused):
    before = peak_mib()
    with Worker(SandboxConfig(call_timeout=20, load_timeout=10)) as worker:
        assert worker.load([FORGER]).ok
        for _ in range(2):  # again after the restart it causes
            with pytest.raises(BadReturn, match=refused):
                worker.call("forge", (header_mib, declared_mib))
        assert worker.call("honest").value == 2  # the next call gets a fresh worker
    assert peak_mib() - before < 1024


def test_a_malformed_reply_is_emptied_so_a_recorded_error_does_not_keep_it():
    from autograder.worker.transport import Died, WorkerProcess

    header = b"[]" * 2**20  # 2 MiB: over the header limit
    payload = bytearray(len(header).to_bytes(4, "little") + header)
    with pytest.raises(Died, match="malformed message") as raised:
        channel = SimpleNamespace(shared=None, config=SimpleNamespace(max_reply_bytes=2**26))
        WorkerProcess._parse(channel, payload, seq=1)  # type: ignore[arg-type]
    assert len(payload) == 0 and raised.value.__context__ is None


@pytest.mark.parametrize("index, offset", [(0, 2**40), (0, -64), (3, 0)],
                         ids=["outside", "before", "no-such-blob"])
def test_a_reply_placing_blobs_outside_the_shared_area_is_refused(index, offset):
    with Worker(SandboxConfig(call_timeout=20, load_timeout=10)) as worker:
        assert worker.load([FORGER]).ok
        with pytest.raises(BadReturn, match="malformed message"):
            worker.call("forge_shared", (index, offset))
        assert worker.call("honest").value == 2  # the next call gets a fresh worker
