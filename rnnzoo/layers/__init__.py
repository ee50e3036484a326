"""The equations as Keras layers: cells, fast sequence layers, conversion to/from Keras."""

from rnnzoo.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnzoo.layers.conversion import convert_model
from rnnzoo.layers.crf import CRF
from rnnzoo.layers.factory import recurrent_layer
from rnnzoo.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "CRF",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "convert_model",
    "recurrent_layer",
]
