"""The seq2seq recipe end to end on the committed KJV ↔ RV1909 slice and a few held-out verses."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml
from task_contract import TaskContract

from rnnzoo.data import DataFormatError
from rnnzoo.data.vocab import Vocabulary
from rnnzoo.tasks.seq2seq import preprocessing
from rnnzoo.tasks.seq2seq import recipe as seq2seq
from rnnzoo.training.config import validate

SLICE = Path(__file__).parent / "data" / "kjv_rv1909_slice.tsv"
FILE = "bible_en_es/kjv_rv1909.tsv"
HELD_OUT = [  # KJV and Reina-Valera 1909, public domain: the test books and the dev book
    ("Phil", 1, 2, "Grace be unto you, and peace, from God our Father, and from the Lord Jesus "
     "Christ.", "Graciaseaá vosotros, y paz de Dios nuestro Padre y del Señor Jesucristo."),
    ("Col", 1, 1, "Paul, an apostle of Jesus Christ by the will of God, and Timotheus our "
     "brother,", "PABLO, apóstol de Jesucristo por la voluntad de Dios, y el hermano Timoteo,"),
    ("1Thess", 1, 1, "Paul, and Silvanus, and Timotheus, unto the church of the Thessalonians "
     "which is in God the Father and in the Lord Jesus Christ: Grace be unto you, and peace, "
     "from God our Father, and the Lord Jesus Christ.", "PABLO, y Silvano, y Timoteo, á la "
     "iglesia de los Tesalonicensesque esen Dios Padre y en el Señor Jesucristo: Gracia y paz á "
     "vosotros de Dios nuestro Padre y del Señor Jesucristo."),
    ("1John", 1, 1, "That which was from the beginning, which we have heard, which we have seen "
     "with our eyes, which we have looked upon, and our hands have handled, of the Word of life;",
     "LO que era desde el principio, lo que hemos oído, lo que hemos visto con nuestros ojos, lo "
     "que hemos mirado, y palparon nuestras manos tocante al Verbo de vida;"),
    ("1John", 1, 2, "(For the life was manifested, and we have seen it, and bear witness, and "
     "shew unto you that eternal life, which was with the Father, and was manifested unto us;)",
     "(Porque la vida fué manifestada, y vimos, y testificamos, y os anunciamos aquella vida "
     "eterna, la cual estaba con el Padre, y nos ha aparecido;)"),
]
RECIPE = {
    "name": "tiny-seq2seq",
    "task": "seq2seq",
    "description": "test",
    "seed": 0,
    "model": {"implementation": "builtin", "embedding_dim": 8, "hidden": 8, "encoder_layers": 1,
              "decoder_layers": 1, "dropout": 0.0, "beam_size": 2,
              "max_decode_length": 12},
    "data": {},
    "vocabulary": {"source_min_count": 1, "target_min_count": 1},
    "training": {"batch_size": 16, "epochs": 1, "eval_batch_size": 2},
}
RUN_FILES = {"model.keras", "config.yaml", "source_vocab.txt", "target_vocab.txt",
             "metrics.json", "history.json", "checkpoints"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    (root / "bible_en_es").mkdir()
    rows = ["\t".join(map(str, row)) for row in HELD_OUT]
    (root / FILE).write_text(SLICE.read_text(encoding="utf-8") + "\n".join(rows) + "\n",
                             encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def run(data_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run")
    return out, seq2seq.train(RECIPE, str(data_dir), out)


def test_tokens_detokenise_to_the_text():
    text = "¿Qué es esto? Dijo: (Porque la vida fué manifestada, y vimos;) ¡Beth-el!"
    tokens = preprocessing.tokenize([text])[0]
    assert tokens[:4] == ["¿", "Qué", "es", "esto"] and "Beth-el" in tokens
    vocab = Vocabulary.build(tokens, "word")
    assert preprocessing.to_texts([vocab.ids(tokens)], vocab) == [text]


def test_chapter_capitals_take_the_usual_form():
    verses = [seq2seq.Verse("Gen", "1", "", "Y JEHOVÁ dijo á Noé"),
              seq2seq.Verse("Gen", "2", "", "en el nombre de Jehová y en su casa"),
              seq2seq.Verse("Gen", "3", "", "EN verdad")]
    recased = seq2seq.recase_chapters(verses)
    assert recased[0].target == "Y Jehová dijo á Noé"
    assert recased[2].target == "EN verdad"  # not chapter-initial: verse 3
    assert seq2seq.recase_leading_capitals("EN el principio", {"EN": "en"}) == "En el principio"


def test_splits_hold_out_whole_books_and_filter_training(data_dir):
    data = validate({}, seq2seq.DATA_SCHEMA, "data")
    splits = seq2seq.corpus_splits(data, str(data_dir))
    assert [v.book for v in splits["test"]] == ["Phil", "Col", "1Thess"]
    assert [v.book for v in splits["valid"]] == ["1John", "1John"]
    assert splits["test"][1].target.startswith("Pablo, apóstol")
    assert splits["train"][0].target.startswith("En el principio crió Dios")
    train_books = {v.book for v in splits["train"]}
    assert train_books == {"Gen", "Num"}
    assert len(splits["train"]) < 50  # the misaligned Numbers 13 pairs and long verses dropped


def test_read_verses_names_a_missing_column(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("book\tverse\ten\nGen\t1\tx\n")
    with pytest.raises(DataFormatError, match="no column 'es'"):
        seq2seq.read_verses(path, "en", "es")


def test_run_folder_and_metrics(run):
    out, metrics = run
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    target_vocab = (out / "target_vocab.txt").read_text(encoding="utf-8").splitlines()
    assert config["model"]["target_vocab_size"] == len(target_vocab)
    assert target_vocab[config["model"]["bos_id"]] == "<bos>"
    assert target_vocab[config["model"]["eos_id"]] == "<eos>"
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert set(metrics["test"]) == {"bleu", "chrf", "sentences", "source_oov", "target_oov"}
    assert metrics["test"]["sentences"] == 3 and metrics["valid"]["sentences"] == 2
    assert 0 < metrics["test"]["target_oov"] < 1
    assert len(json.loads((out / "history.json").read_text())["val_loss"]) == 1


def test_target_counts_count_labels_and_one_eos_per_verse():
    vocab = Vocabulary(["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"])
    counts = seq2seq.target_counts([np.array([4, 4, 5]), np.array([5])], vocab)
    assert counts.tolist() == [0, 0, 0, 2, 2, 2]


def test_missing_data_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=FILE):
        seq2seq.train(RECIPE, str(tmp_path), tmp_path / "run")


def test_loaded_run_translates(run):
    import rnnzoo

    model = rnnzoo.load(run[0])
    single = model.translate("In the beginning God created the heaven and the earth.",
                             beam_size=2)
    assert isinstance(single, str)
    assert len(model.translate(["And God said", "Amen."], beam_size=1)) == 2
    with pytest.raises(ValueError, match="beam_size must be >= 1"):
        model.translate("Amen.", beam_size=0)


USER_COLUMNS = {"source_column": "en", "target_column": "es"}


def test_a_users_pairs_file_with_or_without_a_header(tmp_path):
    named = tmp_path / "named.tsv"
    named.write_text("es\tid\ten\nuno\t1\tone\n\ndos gatos\t2\ttwo cats\n", encoding="utf-8")
    bare = tmp_path / "bare.tsv"
    bare.write_text("one\tuno\ntwo cats\tdos gatos\n", encoding="utf-8")
    for path in (named, bare):
        pairs = seq2seq.read_pairs_file(path, USER_COLUMNS)
        assert [(p.source, p.target) for p in pairs] == [("one", "uno"), ("two cats", "dos gatos")]


@pytest.mark.parametrize("lines, line, message", [
    (b"en\tes\none\tuno\ntwo\tdos\textra\n", 3,
     "expected 2 tab-separated columns (source and target), got 3"),
    (b"one\tuno\ntwo\n", 2, "expected 2 tab-separated columns (source and target), got 1"),
    (b"en\tes\none\tun\xa0o\n", 2, "invalid UTF-8"),
])
def test_a_users_pairs_file_errors_name_file_and_line(tmp_path, lines, line, message):
    path = tmp_path / "bad.tsv"
    path.write_bytes(lines)
    with pytest.raises(DataFormatError) as error:
        seq2seq.read_pairs_file(path, USER_COLUMNS)
    assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value)


SOURCES = ["In the beginning God created the heaven.", "Amen.", ""]


class TestTranslatorContract(TaskContract):
    RECIPE = RECIPE
    OWN_FILES = {"source_vocab.txt", "target_vocab.txt"}

    def in_process(self, model):
        return model.translate(SOURCES)

    def served(self, signatures):
        out = signatures["serving_default"](sources=tf.constant(SOURCES))
        return [t.decode() for t in out["translation"].numpy()]

