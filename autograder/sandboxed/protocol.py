"""Values and frames that cross the sandbox boundary (stdlib + NumPy only).

This module is loaded on both sides: by the grader as ``autograder.sandboxed.protocol`` and,
inside the sandbox where ``autograder`` is invisible, by ``worker_main.py`` from its file. It
therefore imports nothing but the standard library and NumPy, and it never imports sympy or
matplotlib (it recognises their objects by the modules their types come from).

A frame is ``u32 length`` + ``u32 header length`` + a JSON header + binary blobs; the header's
``"blobs"`` lists the blob sizes. Arrays travel as ``.npy`` blobs written with
``allow_pickle=False`` and are parsed here by hand, so a hostile blob can never unpickle,
allocate more than it carries, or produce an object or structured array.

Encoded values (the JSON tree): ``None``/bool/int/float/str as themselves, and tagged objects
``{"t": ...}`` for everything else: ``c`` complex, ``int`` big int (hex), ``list``, ``tuple``,
``dict`` (str keys), ``nd`` array blob, ``rng`` Generator, ``fn`` callback, ``sym`` sympy
text, ``figure`` matplotlib figure data; in the grader's requests only, ``kept`` (an array the
worker process keeps from an earlier request, see `KeptArrays`).
"""

from __future__ import annotations

import builtins

# Private builtins for the functions of this module (see worker_main.py): rebinding
# ``builtins.isinstance`` in student code cannot change how values are encoded.
__builtins__ = dict(builtins.__dict__)

import json
import re
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ALLOWED_KINDS",
    "MAX_DEPTH",
    "MAX_HEADER_BYTES",
    "AxesData",
    "CallbackStub",
    "CollectionData",
    "FigureData",
    "MapData",
    "FrameReader",
    "KeptArrayMissing",
    "KeptArrays",
    "LineData",
    "ProtocolError",
    "SharedArea",
    "SymbolicText",
    "UnsupportedValue",
    "blobs_equal",
    "decode",
    "encode",
    "fingerprint",
    "pack_frame",
    "read_npy",
    "unpack_payload",
]

MAX_DEPTH = 100
MAX_HEADER_BYTES = 512 * 1024
"""A frame's JSON header (its structure: arrays travel as blobs) is refused above this size
before it is parsed: parsing costs memory many times the text's size."""
ALLOWED_KINDS = "biufcUS"  # bool, int, uint, float, complex, str, bytes-str; never object
RNG_NAMES = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
MAP_CELLS = 32
"""A filled contour set travels as its level intervals on a MAP_CELLS x MAP_CELLS grid."""
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_MAX_U32 = 2**32 - 1

# Private references taken before any student code runs in the worker, so that a student
# who rebinds builtins or NumPy attributes cannot change how values are encoded.
_type, _isinstance, _len, _str, _callable = type, isinstance, len, str, callable
_float, _int, _complex, _bool = float, int, complex, bool
_list_iter, _tuple_iter, _dict_items = list.__iter__, tuple.__iter__, dict.items
_ndarray, _generic, _Generator = np.ndarray, np.generic, np.random.Generator
_ascontiguousarray, _frombuffer = np.ascontiguousarray, np.frombuffer
_np_array, _uint8 = np.array, np.uint8
_crc32 = zlib.crc32
_RNG_TYPES = {getattr(np.random, n): n for n in RNG_NAMES}
_NUMPY_SCALAR_TYPES = frozenset(
    t for t in np.sctypeDict.values() if _isinstance(t, _type) and issubclass(t, np.generic)
)
_modules = sys.modules


def _refuse_json(o: Any) -> Any:
    raise TypeError(f"cannot put a {_type(o).__name__} in a frame header")


# JSON through the C accelerators directly: json.dumps/json.loads run Python code that looks
# up builtins a student may have rebound inside the worker.
try:
    from json.encoder import c_encode_basestring_ascii, c_make_encoder
    from json.scanner import c_make_scanner

    _c_encoder = c_make_encoder(None, _refuse_json, c_encode_basestring_ascii, None, ":", ",",
                                False, False, True)
    _c_scanner = c_make_scanner(json.JSONDecoder())
except (ImportError, TypeError):  # pragma: no cover - CPython always has _json
    _c_encoder = _c_scanner = None


def _json_dumps(obj: Any) -> str:
    if _c_encoder is None:  # pragma: no cover
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=_refuse_json)
    return "".join(_c_encoder(obj, 0))


def _json_loads(text: str) -> Any:
    if _c_scanner is None:  # pragma: no cover
        return json.loads(text)
    try:
        obj, end = _c_scanner(text, 0)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    if text[end:].strip():
        raise ValueError("extra data after the JSON document")
    return obj


class ProtocolError(Exception):
    """A frame or encoded value is malformed (the other side misbehaved)."""


class KeptArrayMissing(ProtocolError):
    """A request names an array the worker no longer keeps (only student code in the worker
    can have removed it)."""


class UnsupportedValue(TypeError):
    """A value cannot cross the boundary.

    Attributes
    ----------
    what : str
        Description of the offending value, e.g. ``"a MyArray (a numpy.ndarray subclass)"``.
    where : str
        Path inside the value, e.g. ``"[0]['W1']"`` (empty for the value itself).
    hint : str
        What to do instead.
    """

    def __init__(self, what: str, where: str = "", hint: str = "") -> None:
        self.what, self.where, self.hint = what, where, hint
        at = f" at {where}" if where else ""
        super().__init__(f"{what}{at}" + (f"; {hint}" if hint else ""))


class SymbolicText(str):
    """The text of a sympy expression (``str(expr)``), to be parsed by the grader's checks."""

    def __repr__(self) -> str:
        return f"SymbolicText({str.__repr__(self)})"


class CallbackStub:
    """Stand-in for a function that lives on the other side; calling it calls across."""

    __slots__ = ("_invoke", "id")

    def __init__(self, id: int, invoke: Callable[..., Any]) -> None:
        self.id = id
        self._invoke = invoke

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._invoke(self.id, args, kwargs)

    def __repr__(self) -> str:
        return f"<grader function #{self.id}>"


@dataclass(frozen=True)
class LineData:
    """One ``Line2D``: ``x`` and ``y`` of shape (n_points,), and its legend label."""

    x: np.ndarray
    y: np.ndarray
    label: str


@dataclass(frozen=True)
class MapData:
    """A filled contour set as a grid of level intervals: ``extent`` (x0, x1, y0, y1), and
    ``lo``, ``hi`` (MAP_CELLS, MAP_CELLS), the interval each cell centre lies in (NaN: none)."""

    extent: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class CollectionData:
    """One collection (scatter, contour set, ...): class name, offsets (n_offsets, 2) and,
    for a filled contour set, its map."""

    kind: str
    n_offsets: int
    offsets: np.ndarray | None
    map: MapData | None = None


@dataclass(frozen=True)
class AxesData:
    """What the grader can check about one ``Axes`` of a figure."""

    xscale: str
    yscale: str
    title: str
    xlabel: str
    ylabel: str
    lines: tuple[LineData, ...]
    collections: tuple[CollectionData, ...]
    n_contour_sets: int
    n_images: int
    n_patches: int
    legend_texts: tuple[str, ...]


@dataclass(frozen=True)
class FigureData:
    """Plain data read from a matplotlib Figure inside the worker."""

    axes: tuple[AxesData, ...]


# --------------------------------------------------------------------------------- encoding


class KeptArrays:
    """The grader's record of the arrays one worker process keeps, so that an input passed
    to many calls (a training set) crosses the pipe once.

    Only an array that owns its data and is not writeable qualifies (the grader marks its
    cached inputs so: their bytes cannot change), of at least ``min_bytes``, up to ``limit``
    bytes in all (the worker's memory is limited). The first request sends it with a
    ``keep`` number, later ones name it (``{"t": "kept"}``); the worker hands each call a
    fresh copy of what it kept, so a student who modifies one changes nothing for the next
    call. Each array is held here, so its ``id`` cannot be reused by another while the record
    lives; a new worker process needs a new record.
    """

    def __init__(self, limit: int = 64 << 20, min_bytes: int = 1 << 20) -> None:
        self.limit, self.min_bytes = limit, min_bytes
        self._arrays: dict[int, tuple[np.ndarray, int]] = {}  # id -> (the array, its number)
        self._bytes = 0

    def number(self, a: np.ndarray) -> tuple[int, bool] | None:
        """(its number, whether the worker has it already) for an array to keep; None for
        one to send whole."""
        entry = self._arrays.get(id(a))
        if entry is not None and entry[0] is a:
            return entry[1], True
        if (a.flags.writeable or not a.flags.owndata or a.nbytes < self.min_bytes
                or self._bytes + a.nbytes > self.limit):
            return None
        return _len(self._arrays), False

    def add(self, a: np.ndarray, number: int) -> None:
        """Record an array as sent (once its request was encoded whole)."""
        self._arrays[id(a)] = (a, number)
        self._bytes += a.nbytes


def encode(
    value: Any, *, callbacks: list[Callable[..., Any]] | None = None, blobs: list | None = None,
    kept: KeptArrays | None = None,
) -> Any:
    """Encode a value into a JSON-able header and a list of binary blobs.

    Parameters
    ----------
    value : Any
        Plain data (see the module docstring).
    callbacks : list or None
        Grader side only: callables found in ``value`` are appended here (once each) and sent
        as ``{"t": "fn", "id": index}``. With ``None``, a callable is refused (unless it is a
        ``CallbackStub`` received from the other side).
    blobs : list or None
        If given, blobs are appended to this list (several values sharing one frame) and
        only the header is returned.
    kept : KeptArrays or None
        Grader side only: the arrays the receiving worker process keeps (see `KeptArrays`).

    Returns
    -------
    header : JSON-able
        Returned alone when ``blobs`` was given.
    blobs : list of bytes-like
        Otherwise returned with the header as ``(header, blobs)``.

    Raises
    ------
    UnsupportedValue
        Naming the offending type and where it sits in ``value``.
    """
    out: list = [] if blobs is None else blobs
    encoder = _Encoder(out, callbacks, kept)
    header = encoder.enc(value, "", 0)
    for a, number in encoder.new_kept:  # only now: a value that failed to encode sent nothing
        kept.add(a, number)  # type: ignore[union-attr]
    return header if blobs is not None else (header, out)


def fingerprint(value: Any) -> Any:
    """A comparable summary of a value: its encoded structure, with each array replaced by
    dtype, shape, order and a CRC-32 of its bytes. Equal fingerprints mean (up to CRC
    collisions) equal values; computing one copies no array data.

    Raises
    ------
    UnsupportedValue
        As `encode` would.
    """
    return _Fingerprinter([], None).enc(value, "", 0)


def blobs_equal(a: list, b: list) -> bool:
    """True if two lists of blobs hold the same bytes (fast: compares as uint8 arrays)."""
    if _len(a) != _len(b):
        return False
    for x, y in zip(a, b):
        x, y = memoryview(x).cast("B"), memoryview(y).cast("B")
        if _len(x) != _len(y) or not (_frombuffer(x, _uint8) == _frombuffer(y, _uint8)).all():
            return False
    return True


class _Encoder:
    def __init__(self, blobs: list, callbacks: list | None, kept: KeptArrays | None = None
                 ) -> None:
        self.blobs = blobs
        self.callbacks = callbacks
        self.kept = kept
        self.new_kept: list[tuple[np.ndarray, int]] = []
        self.sent: dict[int, tuple[np.ndarray, int]] = {}  # id -> (array, its blob): once each

    def enc(self, v: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise UnsupportedValue(
                f"data nested more than {MAX_DEPTH} levels deep (or containing itself)", where
            )
        t = _type(v)
        if v is None or t is _bool or t is _str:
            return v
        if v is ...:  # an unanswered `answer = ...` stub
            return {"t": "ellipsis"}
        if t is _int:
            return v if -(2**62) < v < 2**62 else {"t": "int", "h": hex(v)}
        if t is _float:
            return v
        if t is _complex:
            return {"t": "c", "re": v.real, "im": v.imag}
        if t is _ndarray:
            return self.array(v, where)
        if t in _NUMPY_SCALAR_TYPES:
            return self.scalar(v, where, depth)
        if t is _Generator:
            return self.rng(v, where, depth)
        if t is CallbackStub:
            return {"t": "fn", "id": v.id}
        if _isinstance(v, (list, tuple)):
            items = _list_iter(v) if _isinstance(v, list) else _tuple_iter(v)
            tag = "list" if _isinstance(v, list) else "tuple"
            return {"t": tag, "v": [self.enc(x, f"{where}[{i}]", depth + 1)
                                    for i, x in enumerate(items)]}
        if _isinstance(v, dict):
            keys, vals = [], []
            for k, x in _dict_items(v):
                if _type(k) is not _str:
                    raise UnsupportedValue(
                        f"a dict with a {_describe_type(k)} key {_short_repr(k)}", where,
                        "use str keys only",
                    )
                keys.append(k)
                vals.append(self.enc(x, f"{where}[{k!r}]", depth + 1))
            return {"t": "dict", "k": keys, "v": vals}
        module = _type_module(t)
        if module.startswith("sympy"):
            return {"t": "sym", "s": _str(v)}
        if module.startswith("matplotlib"):
            return self.figure(v, where, depth)
        if self.callbacks is not None and _callable(v) and not _isinstance(v, _type):
            for i, f in enumerate(self.callbacks):
                if f is v:
                    return {"t": "fn", "id": i}
            self.callbacks.append(v)
            return {"t": "fn", "id": _len(self.callbacks) - 1}
        raise _unsupported(v, where)

    def array(self, a: np.ndarray, where: str) -> dict:
        dt = a.dtype
        if dt.kind not in ALLOWED_KINDS or dt.fields is not None or dt.subdtype is not None:
            raise UnsupportedValue(
                f"a numpy array of dtype {dt}", where,
                "return numbers (or strings) in a plain array, e.g. np.asarray(x, dtype=float)",
            )
        if dt.itemsize == 0:
            raise UnsupportedValue(f"a numpy array of empty dtype {dt}", where)
        keep = self._keep(a)
        if keep is not None and keep[1]:
            return {"t": "kept", "k": keep[0]}
        if keep is None:  # the same array twice in one value (a training set in many calls)
            sent = self.sent.get(id(a))
            if sent is not None and sent[0] is a:
                return {"t": "nd", "b": sent[1]}
        self.blobs.append(_npy_bytes(a))
        if keep is None:
            self.sent[id(a)] = (a, _len(self.blobs) - 1)
            return {"t": "nd", "b": _len(self.blobs) - 1}
        self.new_kept.append((a, keep[0]))
        return {"t": "nd", "b": _len(self.blobs) - 1, "keep": keep[0]}

    def _keep(self, a: np.ndarray) -> tuple[int, bool] | None:
        if self.kept is None:
            return None
        for x, number in self.new_kept:  # twice in one request: the worker decodes in order
            if x is a:
                return number, True
        keep = self.kept.number(a)
        return keep if keep is None or keep[1] else (keep[0] + _len(self.new_kept), False)

    def scalar(self, v: Any, where: str, depth: int) -> Any:
        kind = v.dtype.kind
        if kind in "biufcU":
            return self.enc(v.item(), where, depth)
        raise UnsupportedValue(f"a numpy scalar of type {_type(v).__name__}", where)

    def rng(self, g: Any, where: str, depth: int) -> dict:
        bg = g.bit_generator
        return {"t": "rng", "bg": _rng_name(bg, where),
                "state": self.enc(bg.state, where, depth + 1)}

    def figure(self, fig: Any, where: str, depth: int) -> dict:
        fig_mod = _modules.get("matplotlib.figure")
        if fig_mod is None or not _isinstance(fig, fig_mod.Figure):
            axes_mod = _modules.get("matplotlib.axes")
            if axes_mod is not None and _isinstance(fig, axes_mod.Axes):
                raise UnsupportedValue("a matplotlib Axes", where, "return the Figure (ax.figure)")
            raise _unsupported(fig, where)
        contour_mod = _modules.get("matplotlib.contour")
        contour_type = contour_mod.ContourSet if contour_mod is not None else ()
        axes = []
        for ax in fig.get_axes():
            lines = [
                {"x": self.enc(_plain_array(ln.get_xdata()), where, depth),
                 "y": self.enc(_plain_array(ln.get_ydata()), where, depth),
                 "label": _str(ln.get_label())}
                for ln in ax.get_lines()
            ]
            collections, n_contour = [], 0
            for c in ax.collections:
                n_contour += _isinstance(c, contour_type) if contour_type else 0
                try:
                    offsets = _plain_array(c.get_offsets())
                except Exception:
                    offsets = None
                n = int(offsets.shape[0]) if offsets is not None and offsets.ndim else 0
                filled = _filled_map(c) if contour_type and _isinstance(c, contour_type) else None
                collections.append({
                    "kind": _type(c).__name__, "n_offsets": n,
                    "offsets": None if offsets is None else self.enc(offsets, where, depth),
                    "map": None if filled is None else
                    {k: self.enc(v, where, depth) for k, v in filled.items()},
                })
            legend = ax.get_legend()
            axes.append({
                "xscale": _str(ax.get_xscale()), "yscale": _str(ax.get_yscale()),
                "title": _str(ax.get_title()), "xlabel": _str(ax.get_xlabel()),
                "ylabel": _str(ax.get_ylabel()), "lines": lines, "collections": collections,
                "n_contour_sets": n_contour, "n_images": _len(ax.images),
                "n_patches": _len(ax.patches),
                "legend_texts": [] if legend is None else
                [_str(t.get_text()) for t in legend.get_texts()],
            })
        return {"t": "figure", "axes": axes}


def _rng_name(bg: Any, where: str) -> str:
    """The protocol's name of a Generator's bit generator; refuses any other kind."""
    name = _RNG_TYPES.get(_type(bg))
    if name is None:
        raise UnsupportedValue(
            f"a Generator over {_describe_type(bg)}", where,
            f"use one of NumPy's bit generators ({', '.join(RNG_NAMES)})",
        )
    return name


class _Fingerprinter(_Encoder):
    def rng(self, g: Any, where: str, depth: int) -> dict:
        # Not its state: a function is expected to draw from its ``rng``, and the grader
        # ignores that change (`checks.mutation`), so it must not cost sending back every
        # argument (a training set, for a trainer given an rng).
        return {"t": "rng", "bg": _rng_name(g.bit_generator, where)}

    def array(self, a: np.ndarray, where: str) -> dict:
        header = super().array(a[:0] if a.ndim else a.reshape(1)[:0], where)  # dtype checks
        del header
        c_order = a.flags.c_contiguous
        data = a if c_order or a.flags.f_contiguous else _ascontiguousarray(a)
        flat = (data if c_order or data.ndim < 2 else data.T).reshape(-1).view(_uint8)
        return {"t": "nd", "d": a.dtype.str, "s": list(a.shape), "c": _crc32(memoryview(flat))}


_NPY_PREFIXES: dict[tuple, bytes] = {}  # (descr, fortran, shape) -> .npy prefix
_NPY_LAYOUTS: dict[bytes, tuple] = {}  # .npy header -> (shape, fortran, dtype, count)
_NPY_CACHED = 4096  # entries kept in each (a class's arrays have a few dozen layouts)


def _npy_prefix(descr: str, fortran: bool, shape: tuple) -> bytes:
    """The magic, version, length and header of a ``.npy`` file, padded to 64 bytes."""
    key = (descr, fortran, shape)
    prefix = _NPY_PREFIXES.get(key)
    if prefix is None:
        head = "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (
            descr, fortran, tuple(_int(n) for n in shape))
        head_len = 10 + _len(head) + 1
        head = head + " " * ((64 - head_len % 64) % 64) + "\n"
        prefix = b"\x93NUMPY\x01\x00" + _U16.pack(_len(head)) + head.encode("latin1")
        if _len(_NPY_PREFIXES) < _NPY_CACHED:
            _NPY_PREFIXES[key] = prefix
    return prefix


def _npy_bytes(a: np.ndarray) -> bytearray:
    """A ``.npy`` file (format 1.0) for a plain array, written here rather than by
    ``np.save`` so that nothing a student patches inside NumPy is on this path."""
    fortran = bool(a.flags.f_contiguous and not a.flags.c_contiguous and a.ndim > 1)
    if not (a.flags.c_contiguous or fortran):
        a = _ascontiguousarray(a)
    prefix = _npy_prefix(a.dtype.str, fortran, a.shape)
    out = bytearray(_len(prefix) + a.nbytes)
    view = memoryview(out)  # slice-assigning through a memoryview is a plain memcpy
    view[:_len(prefix)] = prefix
    if a.nbytes:
        view[_len(prefix):] = memoryview((a.T if fortran else a).reshape(-1).view(_uint8))
    return out


def _filled_map(contours: Any) -> dict[str, np.ndarray] | None:
    """A filled contour set read on a MAP_CELLS x MAP_CELLS grid over its extent: the level
    interval (lo, hi) each cell centre lies in (NaN where none); None when it cannot be read."""
    try:
        if not contours.filled:
            return None
        path_type = _modules["matplotlib.path"].Path
        levels = _np_array(contours.levels, dtype=float)
        polygons = [p.to_polygons(closed_only=False) for p in contours.get_paths()]
        corners = [q for polys in polygons for q in polys if _len(q)]
        if not corners or _len(polygons) > _len(levels) - 1:
            return None
        vertices = np.concatenate(corners)
        extent = _np_array([vertices[:, 0].min(), vertices[:, 0].max(),
                            vertices[:, 1].min(), vertices[:, 1].max()], dtype=float)
        centres = map_centres(extent)
        lo = np.full(_len(centres), np.nan)
        hi = np.full(_len(centres), np.nan)
        for i, polys in enumerate(polygons):  # even-odd: a hole is a polygon inside another
            inside = np.zeros(_len(centres), dtype=int)
            for poly in polys:
                inside += path_type(poly).contains_points(centres)
            lo[inside % 2 == 1], hi[inside % 2 == 1] = levels[i], levels[i + 1]
        shape = (MAP_CELLS, MAP_CELLS)
        return {"extent": extent, "lo": lo.reshape(shape), "hi": hi.reshape(shape)}
    except Exception:  # noqa: BLE001 - a contour set this cannot read is left unread
        return None


def map_centres(extent: np.ndarray) -> np.ndarray:
    """The (MAP_CELLS², 2) cell centres of a map over ``extent`` (x0, x1, y0, y1), row by row."""
    x0, x1, y0, y1 = (float(v) for v in extent)
    steps = (np.arange(MAP_CELLS) + 0.5) / MAP_CELLS
    gx, gy = np.meshgrid(x0 + steps * (x1 - x0), y0 + steps * (y1 - y0))
    return np.column_stack([gx.ravel(), gy.ravel()])


def _plain_array(data: Any) -> np.ndarray:
    """Figure data as a float array when possible, else as strings (categorical axes)."""
    try:
        return _np_array(data, dtype=float)
    except (TypeError, ValueError):
        return _np_array([_str(x) for x in _np_array(data, dtype=object).ravel()])


def _type_module(t: type) -> str:
    module = getattr(t, "__module__", "")
    return module if _type(module) is _str else ""


def _describe_type(v: Any) -> str:
    t = _type(v)
    module = _type_module(t)
    name = getattr(t, "__qualname__", None) or getattr(t, "__name__", "object")
    if module in ("builtins", "__main__", "") or _type(name) is not _str:
        return f"{name}"
    return f"{module}.{name}"


def _short_repr(v: Any) -> str:
    try:
        r = repr(v)
    except Exception:
        return "?"
    return r if _len(r) <= 40 else r[:37] + "..."


_HINTS = {
    "set": "return a list or tuple (e.g. sorted(s))",
    "frozenset": "return a list or tuple (e.g. sorted(s))",
    "bytes": "return a str or a numpy array",
    "generator": "return a list (e.g. list(gen)) instead of a generator",
    "map": "return a list (e.g. list(...))",
    "range": "return a list (e.g. list(range(...))) or a numpy array",
    "module": "return data, not a module",
    "function": "return data, not a function",
    "builtin_function_or_method": "return data, not a function",
}


def _unsupported(v: Any, where: str) -> UnsupportedValue:
    t = _type(v)
    if _isinstance(v, _ndarray):
        base = "numpy.ndarray"
        return UnsupportedValue(
            f"a {t.__name__} (a {base} subclass)", where,
            "return a plain numpy array (np.asarray(x))",
        )
    if _isinstance(v, _generic):
        return UnsupportedValue(
            f"a {t.__name__} (a numpy scalar subclass)", where, "return a plain float or int"
        )
    name = getattr(t, "__name__", "object")
    hint = _HINTS.get(name, "")
    module = _type_module(t)
    if not hint and (module.startswith("pandas") or module.startswith("torch")):
        hint = "convert it to a numpy array first (e.g. .to_numpy() / .numpy())"
    if not hint:
        hint = ("only numbers, strings, numpy arrays, lists, tuples, dicts with str keys, "
                "numpy Generators, sympy expressions and matplotlib Figures can be returned")
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return UnsupportedValue(f"{article} {_describe_type(v)}", where, hint)


# --------------------------------------------------------------------------------- decoding


def decode(header: Any, blobs: list, *, function_stub: Callable[[int], Any] | None = None,
           kept: dict[int, np.ndarray] | None = None) -> Any:
    """Decode what `encode` produced, trusting nothing.

    Parameters
    ----------
    header : JSON-able
        The encoded tree.
    blobs : list of bytes-like
        The binary blobs the tree refers to.
    function_stub : callable or None
        Maps a callback id to the callable to use for it (the grader's registered function, or
        a `CallbackStub` in the worker). ``None`` refuses callbacks.
    kept : dict or None
        Worker side only: the arrays this process keeps (number -> array; see `KeptArrays`).
        ``None`` refuses kept arrays (the grader reads none from a worker).

    Raises
    ------
    ProtocolError
        On any malformed input (unknown tag, bad blob, wrong field types, excessive nesting).
    """
    try:
        return _Decoder(blobs, function_stub, kept).dec(header, 0)
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as e:
        raise ProtocolError(f"malformed value ({type(e).__name__}: {e})") from None


class _Decoder:
    def __init__(self, blobs: list, function_stub: Callable[[int], Any] | None,
                 kept: dict[int, np.ndarray] | None = None) -> None:
        self.blobs = blobs
        self.function_stub = function_stub
        self.kept = kept

    def dec(self, h: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 4:
            raise ProtocolError("value nested too deeply")
        t = type(h)
        if h is None or t in (bool, int, float, str):
            return h
        if t is not dict or type(h.get("t")) is not str:
            raise ProtocolError(f"unexpected {t.__name__} in an encoded value")
        method = getattr(self, "t_" + h["t"], None)
        if method is None:
            raise ProtocolError(f"unknown value tag {h['t']!r}")
        return method(h, depth + 1)

    def t_ellipsis(self, h: dict, depth: int) -> Any:
        return ...

    def t_c(self, h: dict, depth: int) -> complex:
        re, im = h["re"], h["im"]
        if type(re) not in (int, float) or type(im) not in (int, float):
            raise ProtocolError("complex parts must be numbers")
        return complex(re, im)

    def t_int(self, h: dict, depth: int) -> int:
        s = _need(h, "h", str)
        if len(s) > 10_000:
            raise ProtocolError("integer too large")
        return int(s, 16)

    def t_list(self, h: dict, depth: int) -> list:
        return [self.dec(x, depth) for x in _need(h, "v", list)]

    def t_tuple(self, h: dict, depth: int) -> tuple:
        return tuple(self.dec(x, depth) for x in _need(h, "v", list))

    def t_dict(self, h: dict, depth: int) -> dict:
        keys, vals = _need(h, "k", list), _need(h, "v", list)
        if len(keys) != len(vals) or any(type(k) is not str for k in keys):
            raise ProtocolError("dict keys must be a list of str as long as its values")
        return {k: self.dec(v, depth) for k, v in zip(keys, vals)}

    def t_nd(self, h: dict, depth: int) -> np.ndarray:
        i = _need(h, "b", int)
        if not 0 <= i < len(self.blobs):
            raise ProtocolError(f"array refers to blob {i} of {len(self.blobs)}")
        blob = self.blobs[i]
        a = read_npy(blob)
        if type(blob) is bytearray:  # its memory is now the array's: any other use copies
            self.blobs[i] = memoryview(blob).toreadonly()
        if "keep" in h:
            self._store()[_need(h, "keep", int)] = a.copy()  # pristine, for the next calls
        return a

    def t_kept(self, h: dict, depth: int) -> np.ndarray:
        number = _need(h, "k", int)
        store = self._store()
        if number not in store:
            raise KeptArrayMissing(f"no kept array {number}")
        return store[number].copy()

    def _store(self) -> dict[int, np.ndarray]:
        if self.kept is None:
            raise ProtocolError("a kept array where none is allowed")
        return self.kept

    def t_sym(self, h: dict, depth: int) -> SymbolicText:
        return SymbolicText(_need(h, "s", str))

    def t_fn(self, h: dict, depth: int) -> Any:
        i = _need(h, "id", int)
        if self.function_stub is None:
            raise ProtocolError("a function reference where none is allowed")
        return self.function_stub(i)

    def t_rng(self, h: dict, depth: int) -> np.random.Generator:
        name = _need(h, "bg", str)
        if name not in RNG_NAMES:
            raise ProtocolError(f"unknown bit generator {name!r}")
        bg = getattr(np.random, name)()
        state = self.dec(h["state"], depth)
        if type(state) is not dict:
            raise ProtocolError("generator state must be a dict")
        bg.state = state
        return np.random.Generator(bg)

    def t_figure(self, h: dict, depth: int) -> FigureData:
        axes = []
        for a in _need(h, "axes", list):
            if type(a) is not dict:
                raise ProtocolError("figure axes must be dicts")
            lines = tuple(
                LineData(self._float_array(ln["x"], depth), self._float_array(ln["y"], depth),
                         _need(ln, "label", str))
                for ln in _need(a, "lines", list)
            )
            collections = tuple(
                CollectionData(_need(c, "kind", str), _need(c, "n_offsets", int),
                               None if c["offsets"] is None else self._float_array(
                                   c["offsets"], depth),
                               self._map(c.get("map"), depth))
                for c in _need(a, "collections", list)
            )
            legend = _need(a, "legend_texts", list)
            if any(type(s) is not str for s in legend):
                raise ProtocolError("legend texts must be str")
            axes.append(AxesData(
                xscale=_need(a, "xscale", str), yscale=_need(a, "yscale", str),
                title=_need(a, "title", str), xlabel=_need(a, "xlabel", str),
                ylabel=_need(a, "ylabel", str), lines=lines, collections=collections,
                n_contour_sets=_need(a, "n_contour_sets", int),
                n_images=_need(a, "n_images", int), n_patches=_need(a, "n_patches", int),
                legend_texts=tuple(legend),
            ))
        return FigureData(tuple(axes))

    def _map(self, h: Any, depth: int) -> MapData | None:
        if h is None:
            return None
        if type(h) is not dict:
            raise ProtocolError("a contour map must be an object")
        extent, lo, hi = (self._float_array(h.get(k), depth) for k in ("extent", "lo", "hi"))
        if any(a.dtype.kind != "f" for a in (extent, lo, hi)) or (extent.shape != (4,) or not np.all(np.isfinite(extent))
                or lo.shape != (MAP_CELLS, MAP_CELLS) or hi.shape != lo.shape):
            raise ProtocolError(f"a contour map is an extent of 4 finite numbers and two "
                                f"{MAP_CELLS}x{MAP_CELLS} grids")
        return MapData(extent, lo, hi)

    def _float_array(self, h: Any, depth: int) -> np.ndarray:
        if type(h) is not dict or h.get("t") != "nd":
            raise ProtocolError("figure data must be arrays")
        return self.t_nd(h, depth)


def _need(h: Any, key: str, typ: type) -> Any:
    if type(h) is not dict:
        raise ProtocolError(f"expected an object with {key!r}")
    v = h.get(key)
    if type(v) is not typ:
        raise ProtocolError(f"field {key!r} must be {typ.__name__}, got {type(v).__name__}")
    return v


_NPY_HEADER = re.compile(
    r"\{'descr': '([<>|=][biufcUS][0-9]{0,6})', 'fortran_order': (True|False), "
    r"'shape': \(((?:[0-9]{1,19}, ?)*[0-9]{0,19})\), \} *\n"
)


def _parse_npy_header(text: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The header of a ``.npy`` file in exactly the form `_npy_bytes` writes (and
    ``np.save`` writes for plain arrays); anything else is refused."""
    m = _NPY_HEADER.fullmatch(text.decode("latin1"))
    if m is None:
        raise ProtocolError("bad .npy header")
    try:
        dtype = np.dtype(m.group(1))
    except TypeError:
        raise ProtocolError(f"bad .npy dtype {m.group(1)!r}") from None
    shape = tuple(_int(n) for n in m.group(3).replace(" ", "").split(",") if n)
    return shape, m.group(2) == "True", dtype


def _npy_layout(header: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, number of entries) of a ``.npy`` header, validated."""
    layout = _NPY_LAYOUTS.get(header)
    if layout is not None:
        return layout
    shape, fortran, dtype = _parse_npy_header(header)
    if (dtype.kind not in ALLOWED_KINDS or dtype.hasobject or dtype.fields is not None
            or dtype.subdtype is not None or dtype.itemsize == 0):
        raise ProtocolError(f"array dtype {dtype} is not allowed")
    if type(shape) is not tuple or any(type(n) is not int or n < 0 for n in shape):
        raise ProtocolError(f"bad array shape {shape!r}")
    count = 1
    for n in shape:
        count *= n
    layout = shape, fortran, dtype, count
    if _len(header) <= 256 and _len(_NPY_LAYOUTS) < _NPY_CACHED:
        _NPY_LAYOUTS[header] = layout
    return layout


def read_npy(blob: Any) -> np.ndarray:
    """Parse one ``.npy`` blob into a fresh, writable, native-endian array. A ``bytearray``
    blob is taken over (the array keeps its memory: a private copy `unpack_payload` made
    for this blob alone); any other is copied.

    Refuses pickles, object/structured dtypes, Fortran/C order mismatches in size, and any
    blob whose data length does not match its header exactly.
    """
    mv = memoryview(blob).cast("B")
    if len(mv) < 10 or bytes(mv[:6]) != b"\x93NUMPY":
        raise ProtocolError("array blob is not a .npy file")
    major = mv[6]
    if major == 1:
        start = 10 + int.from_bytes(mv[8:10], "little")
    elif major == 2:
        start = 12 + int.from_bytes(mv[8:12], "little")
    else:
        raise ProtocolError(f"unsupported .npy version {major}")
    if start > len(mv) or start > 65536:
        raise ProtocolError("array blob header is truncated or too long")
    shape, fortran, dtype, count = _npy_layout(bytes(mv[10 if major == 1 else 12:start]))
    if count * dtype.itemsize != len(mv) - start:
        raise ProtocolError(
            f"array blob holds {len(mv) - start} bytes, its header says {count * dtype.itemsize}"
        )
    if count == 0:
        arr = np.empty(shape, dtype)
    else:
        flat = np.frombuffer(mv, dtype=dtype, count=count, offset=start)
        arr = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
        if type(blob) is not bytearray:
            arr = arr.copy(order="K")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


# --------------------------------------------------------------------------------- framing


SHARED_MIN_BYTES = 64 * 1024
"""Blobs of at least this size travel through a frame's `SharedArea` when it has room."""


class SharedArea:
    """Memory one worker process shares with its grader, for the large blobs of frames.

    The grader makes it (a sealed memfd: `autograder.worker.shared_area`) and maps it before
    the worker is forked, and clears it between two workers; each side writes the large blobs of the frames it sends into its
    own half (`put`) and the frame, through the pipe as before, says where they lie. The
    reader copies them out (`take`) as it unpacks the frame, before anything looks at them:
    the other side can rewrite its half at any moment, and nothing is read there twice.
    Only one frame is in flight each way (a side sends again only after the other has
    answered), so a half is rewritten only once its last frame was read.
    """

    def __init__(self, memory: Any, grader_side: bool) -> None:
        view = memoryview(memory).cast("B")
        half = _len(view) // 2
        low, high = view[:half], view[half:2 * half]
        self.outgoing, self.incoming = (low, high) if grader_side else (high, low)
        self.written = self.read = 0  # how far into each half this side has gone

    def put(self, blobs: list) -> tuple[list, list]:
        """Write the large blobs that fit into this side's half: (the blobs left to send
        inline, ``[index, offset]`` of each one written)."""
        inline, placed, pos, room = [], [], 0, _len(self.outgoing)
        for i, blob in enumerate(blobs):
            view = memoryview(blob).cast("B")
            n = _len(view)
            if n >= SHARED_MIN_BYTES and pos + n <= room:
                self.outgoing[pos:pos + n] = view
                placed.append([i, pos])
                pos = (pos + n + 63) & ~63  # each blob 64-byte aligned
            else:
                inline.append(blob)
        self.written = max(self.written, pos)
        return inline, placed

    def take(self, offset: int, size: int) -> bytearray:
        """A private copy of ``size`` bytes at ``offset`` of the other side's half."""
        self.read = max(self.read, offset + size)
        return bytearray(self.incoming[offset:offset + size])

    def release(self) -> None:
        """Let go of the memory (so that its mapping can be closed)."""
        self.outgoing.release()
        self.incoming.release()


def pack_frame(msg: dict, blobs: list = (), area: SharedArea | None = None) -> list:
    """Serialise a message dict and its blobs into buffers to write in order; with an
    ``area``, the large blobs are written there instead (see `SharedArea`).

    Raises
    ------
    UnsupportedValue
        If the frame would not fit in a u32 length.
    """
    sizes = [memoryview(b).nbytes for b in blobs]
    header = {**msg, "blobs": sizes}
    if area is not None:
        blobs, placed = area.put(list(blobs))
        if placed:
            header["shared_blobs"] = placed
    head_bytes = _json_dumps(header).encode("ascii")
    total = 4 + _len(head_bytes) + sum(memoryview(b).nbytes for b in blobs)
    if total > _MAX_U32:
        raise UnsupportedValue(f"{total} bytes of data", "", "the limit is 4 GiB per message")
    return [_U32.pack(total) + _U32.pack(_len(head_bytes)) + head_bytes, *blobs]


def unpack_payload(payload: Any, area: SharedArea | None = None,
                   max_bytes: int | None = None) -> tuple[dict, list]:
    """Split a frame payload (everything after the u32 length) into (message, blobs),
    copying the blobs it placed in ``area`` out of it; ``max_bytes`` bounds the frame's
    bytes with those blobs included."""
    mv = memoryview(payload).cast("B")
    if len(mv) < 4:
        raise ProtocolError("frame too short")
    hlen = _U32.unpack(mv[:4])[0]
    if hlen > len(mv) - 4:
        raise ProtocolError("frame header length exceeds the frame")
    if hlen > MAX_HEADER_BYTES:
        raise ProtocolError(f"a frame header of {hlen} bytes exceeds the limit of "
                            f"{MAX_HEADER_BYTES} bytes")
    try:
        msg = _json_loads(bytes(mv[4:4 + hlen]).decode("ascii"))
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"frame header is not valid JSON ({type(e).__name__})") from None
    if type(msg) is not dict or type(msg.get("blobs")) is not list:
        raise ProtocolError("frame header must be an object with a 'blobs' list")
    sizes = msg.pop("blobs")
    if any(type(s) is not int or s < 0 for s in sizes):
        raise ProtocolError("blob sizes must be non-negative integers")
    shared = _shared_offsets(msg.pop("shared_blobs", []), sizes, area)
    inline = sum(s for i, s in enumerate(sizes) if i not in shared)
    if 4 + hlen + inline != len(mv):
        raise ProtocolError(
            f"frame holds {len(mv)} bytes, its header accounts for {4 + hlen + inline}"
        )
    if max_bytes is not None and len(mv) + sum(sizes) - inline > max_bytes:
        raise ProtocolError(f"a message of {len(mv) + sum(sizes) - inline} bytes exceeds the "
                            f"limit of {max_bytes} bytes")
    blobs, pos = [], 4 + hlen
    for i, s in enumerate(sizes):
        if i in shared:
            blobs.append(area.take(shared[i], s))  # type: ignore[union-attr]
        else:
            blobs.append(mv[pos:pos + s])
            pos += s
    return msg, blobs


def _shared_offsets(placed: Any, sizes: list, area: SharedArea | None) -> dict[int, int]:
    """{blob index: offset} of the blobs a frame placed in the shared area, validated: in
    order of index, not overlapping, inside the other side's half."""
    if type(placed) is not list:
        raise ProtocolError("'shared_blobs' must be a list")
    if placed and area is None:
        raise ProtocolError("a frame refers to a shared area this channel does not have")
    out: dict[int, int] = {}
    last_index, end = -1, 0
    for entry in placed:
        if (type(entry) is not list or _len(entry) != 2 or type(entry[0]) is not int
                or type(entry[1]) is not int):
            raise ProtocolError("each shared blob must be [index, offset]")
        i, offset = entry
        if not last_index < i < _len(sizes) or offset < end:
            raise ProtocolError("shared blobs must be in order and must not overlap")
        end = offset + sizes[i]
        if end > _len(area.incoming):  # type: ignore[union-attr]
            raise ProtocolError("a shared blob lies outside the shared area")
        out[i], last_index = offset, i
    return out


class FrameReader:
    """Incremental reader of frames from a non-blocking byte stream, with a size cap.

    Parameters
    ----------
    max_bytes : int
        Frames whose declared length exceeds this are refused with `ProtocolError`.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._head = bytearray()
        self._body: bytearray | None = None
        self._filled = 0

    def wanted(self) -> int:
        """How many bytes are needed to make progress (a read size hint)."""
        if self._body is None:
            return 4 - len(self._head)
        return len(self._body) - self._filled

    def feed(self, data: bytes) -> list[bytearray]:
        """Add bytes; return the payloads of the frames completed by them."""
        out = []
        mv = memoryview(data)
        while mv:
            if self._body is None:
                take = 4 - len(self._head)
                self._head += mv[:take]
                mv = mv[take:]
                if len(self._head) == 4:
                    n = _U32.unpack(self._head)[0]
                    self._head = bytearray()
                    if n > self.max_bytes:
                        raise ProtocolError(
                            f"a message of {n} bytes exceeds the limit of {self.max_bytes} bytes"
                        )
                    self._body, self._filled = bytearray(n), 0
            if self._body is not None:
                take = min(len(mv), len(self._body) - self._filled)
                self._body[self._filled:self._filled + take] = mv[:take]
                self._filled += take
                mv = mv[take:]
                if self._filled == len(self._body):
                    out.append(self._body)
                    self._body = None
        return out

    def body_view(self) -> memoryview | None:
        """The unfilled rest of the frame being read, to read into directly (no copies)."""
        if self._body is None:
            return None
        return memoryview(self._body)[self._filled:]

    def advance(self, n: int) -> list[bytearray]:
        """Record ``n`` bytes written into `body_view`; return the frame if it completed."""
        self._filled += n
        if self._body is not None and self._filled == len(self._body):
            body, self._body = self._body, None
            return [body]
        return []

    @property
    def partial(self) -> bool:
        """True while a frame has started but not finished."""
        return bool(self._head) or self._body is not None

