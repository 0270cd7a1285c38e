import tarfile
import zipfile


def unpack(archive, dest):
    with tarfile.open(archive, "r:gz") as tf:
        # ruleid: secgate.ml.tarfile-extractall-no-filter
        tf.extractall(dest)
    tar = tarfile.open(archive)
    # ruleid: secgate.ml.tarfile-extractall-no-filter
    tar.extractall(path=dest)
    # ruleid: secgate.ml.tarfile-extractall-no-filter
    tar.extract("model.bin", dest)
    # ruleid: secgate.ml.tarfile-extractall-no-filter
    tarfile.open(archive).extractall(dest)
    # ruleid: secgate.ml.tarfile-extractall-no-filter
    tar.extractall(dest, filter="fully_trusted")


def unpack_safe(archive, dest):
    with tarfile.open(archive, "r:gz") as tf:
        # ok: secgate.ml.tarfile-extractall-no-filter
        tf.extractall(dest, filter="data")
    tar = tarfile.open(archive)
    # ok: secgate.ml.tarfile-extractall-no-filter
    tar.extractall(path=dest, filter=tarfile.data_filter)
    # ok: secgate.ml.tarfile-extractall-no-filter
    tarfile.open(archive).extractall(dest, filter="tar")
    with zipfile.ZipFile(archive) as zf:
        # ok: secgate.ml.tarfile-extractall-no-filter
        zf.extractall(dest)
