from embedlab.data.text import OOV_ID, PAD_ID, Tokenizer, Vocabulary, sequence_length


def test_simple_tokenizer_splits_words_and_punctuation_and_drops_html_breaks():
    assert Tokenizer()("It's GREAT!<br /><br />Really.") == ["it", "'s", "great", "!", "really", "."]


def test_simple_tokenizer_splits_clitics_like_the_sst_files():
    assert Tokenizer()("They don't say 'hello'") == ["they", "do", "n't", "say", "'", "hello", "'"]


def test_kim_tokenizer_matches_clean_str():
    assert Tokenizer(style="kim2014")("Don't stop, it's (great)!") == [
        "do",
        "n't",
        "stop",
        ",",
        "it",
        "'s",
        "(",
        "great",
        ")",
        "!",
    ]


def test_case_is_kept_when_asked():
    assert Tokenizer(lowercase=False, style="whitespace")("Alps Himalaya") == ["Alps", "Himalaya"]


def test_vocabulary_orders_by_frequency_then_word_with_padding_and_oov_first():
    vocab = Vocabulary.build([["b", "a", "a", "c"], ["b", "a"]], min_count=1)
    assert vocab.words == ("<pad>", "<unk>", "a", "b", "c")
    assert (vocab.index("<pad>"), vocab.index("never-seen")) == (PAD_ID, OOV_ID)
    assert vocab.counts == (0, 0, 3, 2, 1)


def test_min_count_and_max_size_cut_the_vocabulary():
    tokens = [["a"] * 5 + ["b"] * 3 + ["c"]]
    assert Vocabulary.build(tokens, min_count=2).words[2:] == ("a", "b")
    assert Vocabulary.build(tokens, max_size=1).words[2:] == ("a",)


def test_encode_pads_right_truncates_and_maps_unknown_words():
    vocab = Vocabulary.build([["x", "y"]])
    encoded = vocab.encode([["x", "zzz"], ["y", "x", "y", "x"]], max_len=3)
    assert encoded.tolist() == [
        [vocab.index("x"), OOV_ID, PAD_ID],
        [vocab.index("y"), vocab.index("x"), vocab.index("y")],
    ]


def test_sequence_length_from_config_or_percentile():
    tokens = [["w"] * n for n in range(1, 101)]
    assert sequence_length(tokens, 7, 95) == 7
    assert sequence_length(tokens, None, 100) == 100
    assert sequence_length(tokens, None, 50) == 51


def test_fingerprint_changes_with_the_words():
    assert Vocabulary.build([["a", "b"]]).fingerprint() != Vocabulary.build([["a", "c"]]).fingerprint()
