"""The value codec and framing shared by the grader and the worker (no processes here)."""

from __future__ import annotations

import builtins
import io
import json
import math
import struct

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.sandboxed import protocol as P


def same(a, b) -> bool:
    """Exact structural equality: types, dtypes, shapes, values (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                     math.copysign(1, b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    return a == b


def through_frame(value, max_bytes=2**30, chunk=None):
    """Encode, frame, feed through a FrameReader (optionally in small chunks), decode."""
    header, blobs = P.encode(value)
    wire = b"".join(bytes(memoryview(b).cast("B")) for b in P.pack_frame({"v": header}, blobs))
    reader = P.FrameReader(max_bytes)
    frames = []
    step = chunk or len(wire)
    for i in range(0, len(wire), step):
        frames += reader.feed(wire[i:i + step])
    assert len(frames) == 1 and not reader.partial
    msg, out_blobs = P.unpack_payload(frames[0])
    return P.decode(msg["v"], out_blobs)


dtypes = st.one_of(
    hnp.boolean_dtypes(), hnp.integer_dtypes(endianness="="),
    hnp.unsigned_integer_dtypes(endianness="="), hnp.floating_dtypes(endianness="="),
    hnp.complex_number_dtypes(endianness="="),
    hnp.unicode_string_dtypes(endianness="=", min_len=1, max_len=4),
)
arrays = dtypes.flatmap(lambda dt: hnp.arrays(
    dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-2**200, max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(allow_nan=False),
    st.text(max_size=20),
)
values = st.recursive(
    st.one_of(scalars, arrays),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_nested_values_round_trip_exactly(value):
    assert same(through_frame(value), value)


@settings(max_examples=30, deadline=None)
@given(arrays)
def test_arrays_survive_a_byte_by_byte_stream(a):
    assert same(through_frame(a, chunk=7), a)


def test_decoded_arrays_are_fresh_and_writable():
    a = np.arange(6.0).reshape(2, 3)
    header, blobs = P.encode(a)
    b = P.decode(header, blobs)
    b[0, 0] = 99.0
    assert a[0, 0] == 0.0 and b.flags.writeable and not np.shares_memory(a, b)


def test_an_array_repeated_in_one_value_is_sent_once_and_decoded_into_separate_arrays():
    X = np.arange(12.0).reshape(3, 4)
    calls = [(X, {"W": w, "X": X}) for w in (np.ones(2), np.zeros(2))]
    header, blobs = P.encode(calls)
    assert len(blobs) == 3  # X once, and each w
    out = P.decode(header, blobs)
    copies = [out[0][0], out[0][1]["X"], out[1][0], out[1][1]["X"]]
    assert all(np.array_equal(c, X) for c in copies)
    copies[0][0, 0] = -1.0  # a call that modifies its X changes no other call's
    assert all(c[0, 0] == 0.0 for c in copies[1:])
    assert not any(np.shares_memory(a, b) for i, a in enumerate(copies) for b in copies[i + 1:])


def test_a_private_blob_becomes_the_array_and_a_second_decode_copies_it():
    a = np.arange(6.0).reshape(2, 3)
    header, blobs = P.encode(a)
    assert type(blobs[0]) is bytearray  # as `SharedArea.take` copies them out
    first, second = P.decode(header, blobs), P.decode(header, blobs)
    first[0, 0] = 99.0
    assert np.array_equal(second, a) and not np.shares_memory(first, second)


@pytest.mark.parametrize("make", [
    lambda: np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    lambda: np.arange(20)[::3],
    lambda: np.arange(12.0).reshape(3, 4).T,
    lambda: np.zeros((0, 5)),
    lambda: np.array(3.5),
    lambda: np.arange(4, dtype=">i4"),
])
def test_layouts_and_byte_orders_round_trip_as_values(make):
    a = make()
    b = through_frame(a)
    assert b.shape == a.shape and np.array_equal(a, b) and b.dtype.isnative


def test_numpy_scalars_become_python_scalars():
    out = through_frame([np.float32(1.5), np.int64(-3), np.bool_(True), np.complex128(1 + 2j),
                         np.str_("ab")])
    assert same(out, [1.5, -3, True, 1 + 2j, "ab"])


def test_container_subclasses_become_plain_containers():
    from collections import OrderedDict, namedtuple

    Pair = namedtuple("Pair", "alpha beta")
    out = through_frame({"p": Pair(1, 2), "o": OrderedDict(a=1)})
    assert type(out["p"]) is tuple and out["p"] == (1, 2) and type(out["o"]) is dict


@pytest.mark.parametrize("name", P.RNG_NAMES)
def test_generators_are_rebuilt_with_identical_draws(name):
    g = np.random.Generator(getattr(np.random, name)(1234))
    g.random(5)  # move away from the seed state
    h = through_frame(g)
    assert type(h.bit_generator).__name__ == name
    assert np.array_equal(g.random(10), h.random(10))
    assert np.array_equal(g.integers(0, 100, 7), h.integers(0, 100, 7))


# ------------------------------------------------------------------------- refusals


class MyArray(np.ndarray):
    def __eq__(self, other):  # a rigged comparison that must never reach the grader
        return True


class MyFloat(np.float64):
    pass


@pytest.mark.parametrize("value, words", [
    (np.zeros(3).view(MyArray), "MyArray (a numpy.ndarray subclass)"),
    (np.zeros((1, 1)).view(np.matrix), "numpy.ndarray subclass"),
    (np.array([1, None], dtype=object), "dtype object"),
    (np.zeros(2, dtype=[("a", "f8")]), "dtype"),
    (MyFloat(1.0), "numpy scalar subclass"),
    ({1, 2}, "set"),
    ((i for i in range(3)), "generator"),
    ({1: "a"}, "key"),
    (b"raw", "bytes"),
    (object(), "object"),
    (print, "function"),
])
def test_refuses_values_that_are_not_plain_data(value, words):
    with pytest.raises(P.UnsupportedValue) as info:
        P.encode([0, {"k": value}])
    assert words in str(info.value)
    assert info.value.where == "[1]['k']"


def test_refuses_foreign_bit_generators():
    class MyBits(np.random.PCG64):
        pass

    with pytest.raises(P.UnsupportedValue, match="NumPy's bit generators"):
        P.encode(np.random.Generator(MyBits(1)))


def test_refuses_self_containing_values():
    a: list = []
    a.append(a)
    with pytest.raises(P.UnsupportedValue, match="nested more than"):
        P.encode(a)


def test_callables_become_callback_ids_only_on_request():
    def phi(u):
        return u

    registry: list = []
    header, _ = P.encode((phi, [phi, len]), callbacks=registry)
    assert registry == [phi, len]
    assert P.decode(header, [], function_stub=registry.__getitem__) == (phi, [phi, len])
    with pytest.raises(P.ProtocolError, match="function"):
        P.decode(header, [])


def test_encoding_ignores_rebound_builtins():
    a = np.arange(3.0)
    saved = builtins.isinstance, builtins.type
    try:
        builtins.isinstance = lambda *args: True
        builtins.type = lambda *args: int
        header, blobs = P.encode({"a": a})
    finally:
        builtins.isinstance, builtins.type = saved
    assert same(P.decode(header, blobs), {"a": a})


def npy(a, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, **kw)
    return buf.getvalue()


def forged(blob: bytes):
    return P.decode({"t": "nd", "b": 0}, [blob])


def test_refuses_pickled_npy():
    blob = npy(np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(P.ProtocolError, match="header"):
        forged(blob)


def test_reads_what_np_save_writes_for_plain_arrays():
    for a in (np.arange(5.0), np.zeros((2, 0, 3), dtype=np.int8), np.array(True),
              np.asfortranarray(np.ones((3, 2), dtype=np.complex64)), np.array(["ab", "c"])):
        assert same(forged(npy(a)), a)


def test_refuses_npz_and_garbage_blobs():
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros(2))
    for blob in (buf.getvalue(), b"hello world, not an array"):
        with pytest.raises(P.ProtocolError, match="not a .npy"):
            forged(blob)


@pytest.mark.parametrize("cut", [1, 8, 100])
def test_refuses_truncated_or_padded_array_blobs(cut):
    blob = npy(np.arange(50.0))
    with pytest.raises(P.ProtocolError):
        forged(blob[:-cut])
    with pytest.raises(P.ProtocolError, match="holds"):
        forged(blob + b"\0" * cut)


def test_refuses_a_header_claiming_a_huge_array():
    blob = bytearray(npy(np.zeros(2)))
    head = blob[10:].split(b"}")[0].decode()
    huge = head.replace("(2,)", "(1000000000000,)")
    new_head = (huge + "}").ljust(len(head) + 1 + (len(blob) - 10 - len(head) - 1 - 16))
    with pytest.raises(P.ProtocolError):
        forged(bytes(blob[:8]) + struct.pack("<H", len(new_head)) + new_head.encode() +
               bytes(16))


def test_reader_refuses_oversize_frames_before_reading_them():
    reader = P.FrameReader(max_bytes=1000)
    with pytest.raises(P.ProtocolError, match="exceeds the limit"):
        reader.feed(struct.pack("<I", 10**6))


@pytest.mark.parametrize("payload", [
    b"",
    struct.pack("<I", 100) + b"{}",
    struct.pack("<I", 2) + b"[]",
    struct.pack("<I", 3) + b"{x}",
    struct.pack("<I", 13) + b'{"blobs":[5]}' + b"abc",
    struct.pack("<I", 14) + b'{"blobs":[-1]}',
    struct.pack("<I", 18) + b'{"blobs":"nope"}xx',
])
def test_refuses_malformed_frames(payload):
    with pytest.raises(P.ProtocolError):
        P.unpack_payload(payload)


def shared_pair(size=8 << 20):
    """The grader's and the worker's view of one shared memory (a bytearray here)."""
    memory = bytearray(size)
    return P.SharedArea(memory, grader_side=True), P.SharedArea(memory, grader_side=False)


def test_large_blobs_go_through_the_shared_area_and_small_ones_inline():
    grader, worker = shared_pair()
    value = {"big": np.arange(1 << 17, dtype=float), "small": np.arange(5.0),
             "too_big": np.zeros(5 << 17)}  # 1 MiB, 40 B, 5 MiB (over the 4 MiB half)
    header, blobs = P.encode(value)
    buffers = P.pack_frame({"v": header}, blobs, grader)
    wire = b"".join(bytes(memoryview(b).cast("B")) for b in buffers)
    assert 5 << 20 < len(wire) < (5 << 20) + 4096  # the 1 MiB array is not in the frame
    msg, out = P.unpack_payload(wire[4:], worker)
    grader.outgoing[:] = b"\xff" * len(grader.outgoing)  # rewritten after it was read
    assert same(P.decode(msg["v"], out), value)
    reply = P.pack_frame({"v": header}, blobs, worker)  # the other half, the other way
    grader.outgoing[:] = bytes(len(grader.outgoing))
    msg, out = P.unpack_payload(b"".join(bytes(memoryview(b).cast("B")) for b in reply)[4:], grader)
    assert same(P.decode(msg["v"], out), value)


def forged_shared(placed, sizes=(1 << 16, 1 << 16), area=True, max_bytes=None):
    head = json.dumps({"blobs": list(sizes), "shared_blobs": placed}).encode()
    inline = sum(s for i, s in enumerate(sizes) if i not in {e[0] for e in placed
                                                           if isinstance(e, list) and e})
    payload = struct.pack("<I", len(head)) + head + bytes(inline)
    return P.unpack_payload(payload, shared_pair(1 << 20)[0] if area else None, max_bytes)


def test_a_frame_may_place_blobs_anywhere_in_the_other_half_once():
    msg, blobs = forged_shared([[0, 0], [1, (1 << 19) - (1 << 16)]])
    assert [len(b) for b in blobs] == [1 << 16, 1 << 16] and msg == {}


@pytest.mark.parametrize("placed, kwargs, match", [
    ([[0, 0]], {"area": False}, "shared area this channel does not have"),
    ([[2, 0]], {}, "in order"),
    ([[1, 0], [0, 1 << 17]], {}, "in order"),
    ([[0, 0], [0, 1 << 17]], {}, "in order"),
    ([[0, 0], [1, 1 << 15]], {}, "overlap"),
    ([[0, -1]], {}, "overlap"),
    ([[0, (1 << 19) - 10]], {}, "outside the shared area"),
    ([[0, 1 << 40]], {}, "outside the shared area"),
    ([[0]], {}, r"\[index, offset\]"),
    ([["0", 0]], {}, r"\[index, offset\]"),
    ([[True, 0]], {}, r"\[index, offset\]"),
    ({"0": 0}, {}, "must be a list"),
    ([[0, 0], [1, 1 << 16]], {"max_bytes": 1 << 17}, "exceeds the limit"),
])
def test_refuses_shared_blobs_out_of_place(placed, kwargs, match):
    with pytest.raises(P.ProtocolError, match=match):
        forged_shared(placed, **kwargs)


@pytest.mark.parametrize("header", [
    {"t": "pickle"}, {"t": "nd", "b": 3}, {"t": "nd", "b": "0"}, [1, 2],
    {"t": "dict", "k": [1], "v": [2]}, {"t": "dict", "k": ["a"], "v": []},
    {"t": "rng", "bg": "Mine", "state": None}, {"t": "rng", "bg": "PCG64", "state": 3},
    {"t": "c", "re": "1", "im": 0}, {"t": "int", "h": "zz"},
    {"t": "figure", "axes": [{"xscale": 1}]},
])
def test_refuses_malformed_values(header):
    with pytest.raises(P.ProtocolError):
        P.decode(header, [])


def test_refuses_absurdly_deep_values():
    header: object = 1
    for _ in range(500):
        header = {"t": "list", "v": [header]}
    with pytest.raises(P.ProtocolError):
        P.decode(header, [])


def test_sympy_expressions_travel_as_text():
    sympy = pytest.importorskip("sympy")
    n = sympy.Symbol("n")
    out = through_frame({"sigma_sq": 2 / n})
    assert type(out["sigma_sq"]) is P.SymbolicText and out["sigma_sq"] == "2/n"


def test_figures_travel_as_plain_data():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2)
    try:
        ax.plot([0, 1, 2], [5.0, 3.0, 2.5], label="log-likelihood")
        ax.set_yscale("log")
        ax.set_title("EM")
        ax.legend()
        bx.scatter([1, 2, 3], [4, 5, 6])
        bx.contour(np.arange(16.0).reshape(4, 4))
        out = through_frame(fig)
    finally:
        plt.close(fig)
    assert isinstance(out, P.FigureData) and len(out.axes) == 2
    a, b = out.axes
    assert (a.yscale, a.title, a.legend_texts) == ("log", "EM", ("log-likelihood",))
    assert np.array_equal(a.lines[0].y, [5.0, 3.0, 2.5]) and a.lines[0].label == "log-likelihood"
    assert [c.kind for c in b.collections][0] == "PathCollection"
    assert b.collections[0].n_offsets == 3 and b.n_contour_sets == 1


def test_a_filled_contour_map_travels_as_its_level_intervals_on_a_grid():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g0, g1 = np.meshgrid(np.linspace(-2, 2, 120), np.linspace(-1, 3, 100))
    classes = (g0**2 + (g1 - 1) ** 2 < 1).astype(int) + 2 * (g0 > 1.3)  # a disk (with a hole
    fig, ax = plt.subplots()  # where class 2 cuts it) inside class 0
    try:
        ax.contourf(g0, g1, classes)
        ax.contour(g0, g1, classes)  # unfilled: no map
        out = through_frame(fig)
    finally:
        plt.close(fig)
    filled, lines = out.axes[0].collections
    assert lines.map is None and np.allclose(filled.map.extent, [-2, 2, -1, 3])
    centres = P.map_centres(filled.map.extent)
    truth = (centres[:, 0] ** 2 + (centres[:, 1] - 1) ** 2 < 1) + 2 * (centres[:, 0] > 1.3)
    shown = (filled.map.lo.ravel() <= truth) & (truth <= filled.map.hi.ravel())
    assert shown.mean() > 0.95  # cells cut by a boundary may fall either side


@pytest.mark.parametrize("bad", [
    {"extent": np.array([0.0, 1.0, np.nan, 1.0])},
    {"lo": np.zeros((3, 3))},
    {"hi": np.array(["a"] * P.MAP_CELLS**2).reshape(P.MAP_CELLS, P.MAP_CELLS)},
])
def test_a_malformed_contour_map_is_refused(bad):
    cells = np.zeros((P.MAP_CELLS, P.MAP_CELLS))
    fields = {"extent": np.array([0.0, 1.0, 0.0, 1.0]), "lo": cells, "hi": cells, **bad}
    blobs: list = []
    mapped = {k: P.encode(v, blobs=blobs) for k, v in fields.items()}
    axes = {"xscale": "linear", "yscale": "linear", "title": "", "xlabel": "", "ylabel": "",
            "lines": [], "n_contour_sets": 1, "n_images": 0, "n_patches": 0, "legend_texts": [],
            "collections": [{"kind": "QuadContourSet", "n_offsets": 0, "offsets": None,
                             "map": mapped}]}
    with pytest.raises(P.ProtocolError, match="contour map"):
        P.decode({"t": "figure", "axes": [axes]}, blobs)


def test_an_axes_is_refused_with_a_hint():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        with pytest.raises(P.UnsupportedValue, match="ax.figure"):
            P.encode(ax)
    finally:
        plt.close(fig)


def test_blobs_equal_compares_bytes():
    assert P.blobs_equal([b"abc", b""], [bytearray(b"abc"), b""])
    assert not P.blobs_equal([b"abc"], [b"abd"])
    assert not P.blobs_equal([b"abc"], [b"abc", b""])


def test_fingerprints_change_exactly_when_values_change():
    a = np.arange(12.0).reshape(3, 4)
    value = ({"W1": a, "n": 3}, [np.asfortranarray(a), a[:, ::2]])
    fp = P.fingerprint(value)
    assert P.fingerprint(({"W1": a.copy(), "n": 3}, [np.asfortranarray(a), a[:, ::2]])) == fp
    a[1, 1] = 99.0
    assert P.fingerprint(value) != fp
    assert P.fingerprint(np.zeros(2)) != P.fingerprint(np.zeros(2, dtype=np.float32))
    assert P.fingerprint(np.zeros((2, 1))) != P.fingerprint(np.zeros((1, 2)))
    with pytest.raises(P.UnsupportedValue):
        P.fingerprint(np.zeros(2).view(MyArray))


def test_fingerprints_ignore_a_generators_state_but_not_its_kind():
    rng = np.random.default_rng(1)
    fp = P.fingerprint((rng, 3))
    rng.normal(size=10)
    assert P.fingerprint((rng, 3)) == fp  # drawing from the rng is expected, not a mutation
    assert P.fingerprint((np.random.Generator(np.random.MT19937(1)), 3)) != fp


# ------------------------------------------------------------------------- kept arrays


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def test_a_read_only_array_is_sent_once_then_named():
    kept, store = P.KeptArrays(min_bytes=800), {}
    X = _read_only(np.arange(200.0))
    first = P.encode((X, 1), kept=kept)
    second = P.encode((X, 2), kept=kept)
    assert first[0]["v"][0] == {"t": "nd", "b": 0, "keep": 0} and len(first[1]) == 1
    assert second[0]["v"][0] == {"t": "kept", "k": 0} and second[1] == []
    a = P.decode(*first, kept=store)[0]
    b = P.decode(*second, kept=store)[0]
    a[:] = -1.0  # a student's call changing its copy
    c = P.decode(*second, kept=store)[0]
    assert b is not c and np.array_equal(c, X) and c.flags.writeable  # a fresh, pristine copy


@pytest.mark.parametrize("make", [
    lambda: np.arange(200.0),  # writeable: its bytes may change between calls
    lambda: _read_only(np.arange(400.0)[::2]),  # a view: its base may change
    lambda: _read_only(np.arange(50.0)),  # small: sent whole
], ids=["writeable", "view", "small"])
def test_other_arrays_are_sent_whole_every_time(make):
    kept, X = P.KeptArrays(min_bytes=800), make()
    for _ in range(2):
        header, blobs = P.encode([X], kept=kept)
        assert header["v"][0] == {"t": "nd", "b": 0} and len(blobs) == 1


def test_kept_arrays_stay_under_the_limit():
    kept = P.KeptArrays(limit=2000, min_bytes=800)
    X, Y = _read_only(np.zeros(200)), _read_only(np.ones(200))  # 1,600 bytes each
    P.encode([X], kept=kept)
    assert P.encode([Y], kept=kept)[0]["v"][0] == {"t": "nd", "b": 0}  # over the limit: whole
    assert P.encode([X], kept=kept)[0]["v"][0] == {"t": "kept", "k": 0}


def test_twice_in_one_request_and_a_failed_encoding_keeps_nothing_twice():
    kept, store = P.KeptArrays(min_bytes=800), {}
    X = _read_only(np.arange(200.0))
    with pytest.raises(P.UnsupportedValue):
        P.encode([X, object()], kept=kept)  # never sent: not recorded as kept
    header, blobs = P.encode([X, X], kept=kept)
    assert header["v"] == [{"t": "nd", "b": 0, "keep": 0}, {"t": "kept", "k": 0}]
    a, b = P.decode(header, blobs, kept=store)
    assert np.array_equal(a, X) and np.array_equal(b, X) and a is not b


def test_the_grader_reads_no_kept_array_from_a_worker():
    blob = P.encode(np.zeros(3))[1][0]
    with pytest.raises(P.ProtocolError, match="kept array"):
        P.decode({"t": "kept", "k": 0}, [])
    with pytest.raises(P.ProtocolError, match="kept array"):
        P.decode({"t": "nd", "b": 0, "keep": 0}, [blob])
    with pytest.raises(P.KeptArrayMissing):
        P.decode({"t": "kept", "k": 5}, [], kept={})
