"""The Keras network: stacked LSTMs over the fixed-length hand sequence, then a dense head."""
from __future__ import annotations

from plugins.lstm.backend import keras_and_tf
from plugins.lstm.config import LSTMConfig


def build_network(config: LSTMConfig, features: int, num_classes: int):
    keras, _ = keras_and_tf()
    layers = keras.layers
    inputs = keras.Input(shape=(config.frames, features), name="landmarks")
    x = inputs
    for i, units in enumerate(config.lstm_units):
        last = i == len(config.lstm_units) - 1
        x = layers.LSTM(units, return_sequences=not last, name=f"lstm_{i}")(x)
    x = layers.Dropout(config.dropout, name="dropout_0")(x)
    x = layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(config.dropout, name="dropout_1")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classes")(x)
    net = keras.Model(inputs, outputs, name="slrbench_lstm")
    compile_network(net, config)
    return net


def compile_network(net, config: LSTMConfig) -> None:
    keras, _ = keras_and_tf()
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                loss="sparse_categorical_crossentropy")
