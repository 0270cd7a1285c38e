"""Writes the model files the sca tests scan. Nothing here is ever unpickled or loaded.

Usage: python3 make-model-files.py <output dir>

The malicious files carry a payload whose __reduce__ calls os.system (pickled as `posix system`
on Linux) with a harmless command; it would only run if something loaded the file, which no test
does. Layouts follow what torch.save writes, built by hand so the tests need no torch:
- zip format (torch >= 1.6): a zip whose `<name>/data.pkl` holds the object, plus `version`;
- legacy format: several pickles back to back — magic number, protocol version, sys info, the
  object (the 4th), storage keys.
"""
import io
import os
import pickle
import struct
import sys
import zipfile

PAYLOAD_COMMAND = "echo secgate-test-payload-never-run"


class Payload:
    def __reduce__(self):
        return (os.system, (PAYLOAD_COMMAND,))


def torch_zip(obj) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def torch_legacy(obj) -> bytes:
    parts = [
        0x1950A86A20F9469CFC6C,  # torch.serialization.MAGIC_NUMBER
        1001,  # PROTOCOL_VERSION
        {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}},
        obj,
        [],  # storage keys
    ]
    return b"".join(pickle.dumps(part, protocol=2) for part in parts)


def npy_object_array(element) -> bytes:
    """A version 1.0 .npy file of a one-element object array: header, then the array's pickle."""
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    return npy_header(header) + pickle.dumps([element], protocol=3)


def npy_float_array(values) -> bytes:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    return npy_header(header) + struct.pack("<%dd" % len(values), *values)


def npz(members) -> bytes:
    """A .npz (numpy.savez): a zip of .npy members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_header(header: str) -> bytes:
    # Magic, version 1.0, little-endian uint16 length; the header is space-padded so that the data
    # starts at a multiple of 64 and ends with a newline (numpy.lib.format).
    prefix = 10
    total = -(-(prefix + len(header) + 1) // 64) * 64
    text = header + " " * (total - prefix - len(header) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def main(out: str) -> None:
    clean_state = {"weights": [0.5, -1.25, 3.0], "bias": 0.1, "labels": ["cat", "dog"]}
    files = {
        "malicious.pkl": pickle.dumps(Payload(), protocol=4),
        "malicious.joblib": pickle.dumps({"model": Payload()}, protocol=4),
        "malicious-zip.pt": torch_zip({"state_dict": Payload()}),
        "malicious-legacy.pth": torch_legacy({"state_dict": Payload()}),
        "malicious-object.npy": npy_object_array(Payload()),
        "malicious.npz": npz({"weights.npy": npy_float_array([1.0]), "extra.npy": npy_object_array(Payload())}),
        "clean.pkl": pickle.dumps(clean_state, protocol=4),
        "clean-zip.pt": torch_zip(clean_state),
        "clean-legacy.pth": torch_legacy(clean_state),
        "clean-numeric.npy": npy_float_array([1.0, 2.0, 3.0]),
        "clean.npz": npz({"weights.npy": npy_float_array([1.0, 2.0]), "bias.npy": npy_float_array([0.5])}),
        # Not a pickle at all: no scanner can read it, so it must never count as clean.
        "corrupt.pkl": b"\x80\x04\x95this is not a pickle stream\xff\xfe",
    }
    os.makedirs(out, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make-model-files.py <output dir>")
    main(sys.argv[1])
