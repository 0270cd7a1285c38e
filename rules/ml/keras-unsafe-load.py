import keras
import tensorflow as tf
from keras.models import load_model


def load_unsafe(path, cfg):
    # ruleid: secgate.ml.keras-unsafe-load
    m1 = keras.models.load_model(path, safe_mode=False)
    # ruleid: secgate.ml.keras-unsafe-load
    m2 = tf.keras.models.load_model(path, compile=False, safe_mode=False)
    # ruleid: secgate.ml.keras-unsafe-load
    m3 = keras.saving.load_model(path, safe_mode=False)
    # ruleid: secgate.ml.keras-unsafe-load
    m4 = load_model(path, safe_mode=False)
    # ruleid: secgate.ml.keras-unsafe-load
    keras.config.enable_unsafe_deserialization()
    # ruleid: secgate.ml.keras-unsafe-load
    m5 = keras.Model.from_config(cfg, safe_mode=False)
    return m1, m2, m3, m4, m5


def load_safe(path):
    # ok: secgate.ml.keras-unsafe-load
    m1 = keras.models.load_model(path)
    # ok: secgate.ml.keras-unsafe-load
    m2 = tf.keras.models.load_model(path, safe_mode=True)
    # ok: secgate.ml.keras-unsafe-load
    m3 = keras.saving.load_model(path, compile=False)
    return m1, m2, m3
