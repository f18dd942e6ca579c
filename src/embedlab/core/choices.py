"""The choice fields' options, one Enum each (no Hydra here, so the stages that check a choice import only this).

A choice field's options are its Enum's members: core.schema types the field with it, OmegaConf refuses any other
value while composing, and core.messages turns that into "<key>=<value> is not known; use one of ..." from the same
list. StrEnum members are their own string values, so code compares them with strings and writes them to JSON as is.
"""

from __future__ import annotations

from enum import StrEnum


class TokenizerStyle(StrEnum):
    simple = "simple"  # words and punctuation, clitics split as in GloVe's and the treebank's corpora
    kim2014 = "kim2014"  # Kim's clean_str
    whitespace = "whitespace"  # text already tokenized


class Source(StrEnum):
    scratch = "scratch"
    glove6b = "glove6b"
    file = "file"
    pretrained = "pretrained"  # trained by embedlab on `corpus`
    distilled = "distilled"  # distilled from a sentence transformer


class Mode(StrEnum):
    scratch = "scratch"
    frozen = "frozen"
    finetune = "finetune"


class OovInit(StrEnum):
    uniform_matched = "uniform_matched"  # U(-a, a), a = sqrt(3 var) of the pretrained rows (Kim 2014)
    normal_matched = "normal_matched"
    zeros = "zeros"


class VectorFormat(StrEnum):
    auto = "auto"
    glove = "glove"
    word2vec_text = "word2vec_text"
    word2vec_bin = "word2vec_bin"
    fasttext_vec = "fasttext_vec"
    fasttext_bin = "fasttext_bin"
    model2vec = "model2vec"


class Optimizer(StrEnum):
    adam = "adam"
    adadelta = "adadelta"
    sgd = "sgd"
    rmsprop = "rmsprop"


class Monitor(StrEnum):
    accuracy = "accuracy"
    loss = "loss"


class CorpusKind(StrEnum):
    imdb_unsup = "imdb_unsup"
    gensim = "gensim"
    text = "text"


class DocumentPer(StrEnum):
    line = "line"
    file = "file"


class Architecture(StrEnum):
    skipgram = "skipgram"
    cbow = "cbow"
