"""The equations as Keras layers: cells, fast sequence layers, conversion to/from Keras, CRF,
attention, pooling and the tied embedding."""

from rnnzoo.layers.attention import BahdanauAttention, LuongAttention
from rnnzoo.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnzoo.layers.conversion import convert_model
from rnnzoo.layers.crf import CRF
from rnnzoo.layers.embedding import TiedEmbedding
from rnnzoo.layers.factory import recurrent_layer
from rnnzoo.layers.pooling import AttentionPooling, MaskedMaxPooling
from rnnzoo.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "AttentionPooling",
    "BahdanauAttention",
    "CRF",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LuongAttention",
    "MaskedMaxPooling",
    "SimpleRNN",
    "SimpleRNNCell",
    "TiedEmbedding",
    "convert_model",
    "recurrent_layer",
]
